// memhound HTML report: flame graph, sites table and timeline over the data embedded in the page
// (see _data.py for its shape). No external resources; every element is built here.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("memhound-data").textContent);
  const ROW = 18;
  const REST = -2;
  const $ = (id) => document.getElementById(id);
  const state = { view: D.main, label: "", root: null, zoom: null, query: "", sort: null };

  // ---- numbers ----
  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
  function bytes(n) {
    let v = n, u = 0;
    while (Math.abs(v) >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
    return u === 0 ? Math.round(v) + " B" : (Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)) + " " + UNITS[u];
  }
  const count = (n) => Math.round(n).toLocaleString("en-US");
  const share = (part, total) => (total > 0 ? (100 * part / total).toFixed(1) + "%" : "-");
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- frames ----
  const frameName = (f) => (f === REST ? "" : D.frames[f][0]);
  function frameWhere(f) {
    if (f < 0) return "";
    const [, file, line] = D.frames[f];
    return file ? file + (line ? ":" + line : "") : "";
  }
  const isAllocatorFrame = (f) => f >= 0 && D.frames[f][1] === "" && D.frames[f][0].startsWith("[");

  // ---- the flame tree: one node per distinct call path, bytes and counts summed ----
  function buildTree(view) {
    const root = { f: -1, bytes: 0, count: 0, kids: new Map(), parent: null, depth: 0 };
    for (const [s, b, c] of view.stacks) {
      let node = root;
      node.bytes += b; node.count += c;
      for (const f of D.stacks[s]) {
        let kid = node.kids.get(f);
        if (!kid) {
          kid = { f: f, bytes: 0, count: 0, kids: new Map(), parent: node, depth: node.depth + 1 };
          node.kids.set(f, kid);
        }
        kid.bytes += b; kid.count += c;
        node = kid;
      }
    }
    const [restBytes, restCount, restStacks] = view.rest;
    if (restStacks > 0) {
      root.kids.set(REST, { f: REST, bytes: restBytes, count: restCount, kids: new Map(), parent: root, depth: 1, stacks: restStacks });
      root.bytes += restBytes; root.count += restCount;
    }
    return root;
  }
  function nodeLabel(node) {
    if (node.f === -1) return "all (" + bytes(node.bytes) + ")";
    if (node.f === REST) return "[" + count(node.stacks) + " smaller stacks]";
    return frameName(node.f);
  }
  function hue(node) {
    if (node.f < 0) return "hsl(210,12%,78%)";
    if (isAllocatorFrame(node.f)) return "hsl(195,55%,72%)";
    const file = D.frames[node.f][1];
    let h = 0;
    for (let i = 0; i < file.length; i++) h = (h * 31 + file.charCodeAt(i)) >>> 0;
    return "hsl(" + (10 + (h % 45)) + "," + (60 + (h >> 8) % 25) + "%," + (62 + (h >> 16) % 12) + "%)";
  }
  function matches(node) {
    if (!state.query || node.f < 0) return false;
    const q = state.query;
    return frameName(node.f).toLowerCase().includes(q) || frameWhere(node.f).toLowerCase().includes(q);
  }

  // ---- drawing ----
  function drawFlame() {
    const box = $("flame");
    box.textContent = "";
    const width = box.clientWidth || 1000;
    const ancestors = [];
    for (let n = state.zoom; n; n = n.parent) ancestors.unshift(n);
    let depth = 0;
    const frag = document.createDocumentFragment();
    for (const node of ancestors.slice(0, -1)) frag.appendChild(frameDiv(node, 0, width, depth++, true));
    let drawn = 0, maxDepth = depth;
    const queue = [[state.zoom, 0, width, depth]];
    while (queue.length && drawn < 6000) {
      const [node, x, w, d] = queue.shift();
      frag.appendChild(frameDiv(node, x, w, d, false));
      drawn++;
      maxDepth = Math.max(maxDepth, d);
      let left = x;
      const kids = Array.from(node.kids.values()).sort((a, b) => b.bytes - a.bytes || a.f - b.f);
      for (const kid of kids) {
        const kw = node.bytes > 0 ? w * kid.bytes / node.bytes : 0;
        if (kw >= 1) queue.push([kid, left, kw, d + 1]);
        left += kw;
      }
    }
    box.appendChild(frag);
    box.style.height = (maxDepth + 1) * ROW + 2 + "px";
    $("unzoom").disabled = state.zoom === state.root;
    showMatched();
  }
  function frameDiv(node, x, w, depth, isAncestor) {
    const div = el("div", { class: "fr", "data-frame": node.f, "data-depth": depth }, nodeLabel(node));
    div.style.left = x + "px";
    div.style.width = Math.max(1, w) + "px";
    div.style.top = depth * ROW + "px";
    div.style.background = hue(node);
    if (isAncestor) div.classList.add("ancestor");
    if (node.f === REST) div.classList.add("rest");
    if (state.query) div.classList.add(matches(node) ? "match" : "dim");
    div.memhoundNode = node;
    return div;
  }
  function showMatched() {
    const out = $("matched");
    if (!state.query) { out.textContent = ""; return; }
    let total = 0, hits = 0;
    (function walk(node) {  // the outermost matching frames: nested matches are not counted twice
      if (matches(node)) { total += node.bytes; hits++; return; }
      node.kids.forEach(walk);
    })(state.root);
    out.textContent = hits ? "matched " + bytes(total) + " (" + share(total, state.root.bytes) + " of the view)" : "no frame matches";
    out.dataset.share = state.root.bytes > 0 ? String(total / state.root.bytes) : "0";
  }
  function tooltip(event) {
    const tip = $("tip");
    const node = event.target.memhoundNode;
    if (!node) { tip.style.display = "none"; return; }
    tip.textContent = "";
    tip.appendChild(el("div", { class: "name" }, nodeLabel(node)));
    if (node.f >= 0 && frameWhere(node.f)) tip.appendChild(el("div", {}, frameWhere(node.f)));
    if (node.f >= 0 && D.frames[node.f][3]) tip.appendChild(el("div", { class: "src" }, D.frames[node.f][3]));
    tip.appendChild(el("div", {}, bytes(node.bytes) + " (" + share(node.bytes, state.root.bytes) + "), " + count(node.count) + " allocations"));
    tip.style.display = "block";
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = event.clientY + 16 + "px";
  }

  // ---- the table: sites by line (capture) or leaks ----
  function siteRows(view) {
    const rows = new Map();
    for (const [s, b, c] of view.stacks) {
      const path = D.stacks[s];
      let leaf = path.length - 1;
      const allocator = isAllocatorFrame(path[leaf]) && leaf > 0 ? path[leaf] : -1;
      if (allocator >= 0) leaf--;
      const key = path[leaf] + "/" + allocator;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { f: path[leaf], allocator: allocator, bytes: 0, count: 0 }));
      row.bytes += b; row.count += c;
    }
    return Array.from(rows.values());
  }
  const SITE_COLUMNS = [
    { title: "bytes", key: "bytes", num: true, show: (r) => bytes(r.bytes) },
    { title: "share", key: "bytes", num: true, show: (r) => share(r.bytes, state.root.bytes) },
    { title: "count", key: "count", num: true, show: (r) => count(r.count) },
    { title: "function", key: "function", show: (r) => frameName(r.f) + (r.allocator >= 0 ? " " + frameName(r.allocator) : "") },
    { title: "where", key: "where", show: (r) => frameWhere(r.f) },
    { title: "source", key: "source", src: true, show: (r) => D.frames[r.f][3] || "" },
  ];
  const LEAK_COLUMNS = [
    { title: "#", key: "number", num: true, show: (r) => String(r.number) },
    { title: "kinds", key: "kinds", kinds: true, show: (r) => r.kinds.join(", ") },
    { title: "type", key: "type", show: (r) => r.type },
    { title: "objects/iter", key: "count", num: true, show: (r) => "+" + (+r.count.toFixed(1)).toLocaleString("en-US") },
    { title: "bytes/iter", key: "bytes", num: true, show: (r) => "+" + bytes(r.bytes) },
    { title: "allocated at", key: "where", show: (r) => r.where },
    { title: "retained by", key: "retained_by", src: true, show: (r) => r.retained_by || "" },
  ];
  function sortValue(row, key) {
    if (key === "function") return frameName(row.f);
    if (key === "where") return row.where !== undefined ? row.where : frameWhere(row.f);
    if (key === "source") return D.frames[row.f][3] || "";
    if (key === "kinds") return row.kinds.join(",");
    return row[key];
  }
  function drawTable() {
    const leaks = D.kind === "leaks" && !state.label;
    const columns = leaks ? LEAK_COLUMNS : SITE_COLUMNS;
    let rows = leaks ? D.leaks.slice() : siteRows(state.view);
    const sort = state.sort || { column: leaks ? 4 : (D.view === "temporary" ? 2 : 0), desc: true };
    const key = columns[sort.column].key;
    rows.sort((a, b) => {
      const x = sortValue(a, key), y = sortValue(b, key);
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.desc ? -order : order;
    });
    const table = $("sites");
    table.textContent = "";
    const head = el("tr");
    columns.forEach((column, i) => {
      const th = el("th", { "data-column": i }, column.title);
      if (i === sort.column) th.classList.add(sort.desc ? "sorted-desc" : "sorted-asc");
      th.addEventListener("click", () => {
        state.sort = { column: i, desc: sort.column === i ? !sort.desc : !!column.num };
        drawTable();
      });
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    for (const row of rows.slice(0, 300)) {
      const tr = el("tr");
      for (const column of columns) {
        const td = el("td", { class: column.num ? "num" : column.src ? "src" : "" });
        if (column.kinds) row.kinds.forEach((k) => td.appendChild(el("span", { class: "kind " + k }, k)));
        else td.textContent = column.show(row);
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => pickRow(tr, row, leaks));
      body.appendChild(tr);
    }
    $("table-note").textContent = rows.length > 300 ? "the first 300 of " + count(rows.length) + " rows" : "";
  }
  function pickRow(tr, row, leaks) {
    document.querySelectorAll("#sites tr.picked").forEach((r) => r.classList.remove("picked"));
    tr.classList.add("picked");
    if (leaks) showLeak(row);
    else { state.query = frameName(row.f).toLowerCase(); $("search").value = frameName(row.f); drawFlame(); }
  }
  function showLeak(leak) {
    const box = $("detail");
    box.textContent = "";
    box.style.display = "block";
    box.appendChild(el("h2", {}, "#" + leak.number + " " + leak.type));
    const facts = box.appendChild(el("dl", { class: "summary" }));
    const fact = (k, v) => { if (v) { facts.appendChild(el("dt", {}, k)); facts.appendChild(el("dd", {}, v)); } };
    fact("kinds", leak.kinds.join(", "));
    fact("grows by", "+" + leak.count.toFixed(1) + " objects, +" + bytes(leak.bytes) + " per iteration");
    fact("retained by", leak.retained_by);
    fact("resource", leak.resource);
    fact("held by", leak.held_by);
    if (leak.path.length) {
      box.appendChild(el("div", { class: "note" }, "retention path, from the root:"));
      const steps = box.appendChild(el("ol", { class: "path" }));
      leak.path.forEach(([edge, type]) => steps.appendChild(el("li", {}, edge + " \u2192 " + type)));
    }
    box.appendChild(el("div", { class: "note" }, "allocated at (innermost first):"));
    const frames = box.appendChild(el("ol", { class: "stack" }));
    D.stacks[leak.stack].slice().reverse().forEach((f) => {
      const li = frames.appendChild(el("li", {}, frameName(f) + "  " + frameWhere(f)));
      if (D.frames[f][3]) li.appendChild(el("div", { class: "mono" }, D.frames[f][3]));
    });
  }

  // ---- the timeline: traced bytes and RSS per sample, the peak, what was live then ----
  const T = D.timeline;
  const PAD = { left: 58, right: 10, top: 10, bottom: 22 };
  function timeScale(svg) {
    const width = svg.clientWidth || 1000, height = svg.clientHeight || 170;
    const t0 = T.points[0][0], t1 = Math.max(T.points[T.points.length - 1][0], t0 + 1e-9);
    let top = 1;
    for (const [, rss, traced] of T.points) top = Math.max(top, rss, traced);
    return {
      width, height, t0, t1, top,
      x: (t) => PAD.left + (width - PAD.left - PAD.right) * (t - t0) / (t1 - t0),
      y: (v) => height - PAD.bottom - (height - PAD.top - PAD.bottom) * v / top,
      t: (x) => t0 + (t1 - t0) * (x - PAD.left) / (width - PAD.left - PAD.right),
    };
  }
  function svgEl(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    return node;
  }
  function drawTimeline() {
    const svg = $("timeline");
    if (!svg) return;
    svg.textContent = "";
    const s = timeScale(svg);
    for (let i = 0; i <= 4; i++) {
      const v = s.top * i / 4, y = s.y(v);
      svg.appendChild(svgEl("line", { class: "grid", x1: PAD.left, x2: s.width - PAD.right, y1: y, y2: y }));
      svg.appendChild(svgEl("text", { class: "axis", x: 4, y: y + 3 })).textContent = bytes(v);
    }
    const span = s.t1 - s.t0, digits = span < 0.05 ? 3 : span < 5 ? 2 : 1;
    for (let i = 0; i <= 5; i++) {
      const t = s.t0 + (s.t1 - s.t0) * i / 5;
      svg.appendChild(svgEl("text", { class: "axis", x: s.x(t) - 12, y: s.height - 6 })).textContent = t.toFixed(digits) + " s";
    }
    const line = (col) => T.points.map((p) => s.x(p[0]).toFixed(1) + "," + s.y(p[col]).toFixed(1)).join(" ");
    const base = s.y(0).toFixed(1);
    svg.appendChild(svgEl("polygon", { class: "traced", points: s.x(s.t0) + "," + base + " " + line(2) + " " + s.x(T.points[T.points.length - 1][0]) + "," + base }));
    svg.appendChild(svgEl("polyline", { class: "rss", points: line(1) }));
    if (T.peak_time !== null) {
      const x = s.x(T.peak_time);
      svg.appendChild(svgEl("line", { class: "peak", x1: x, x2: x, y1: PAD.top, y2: s.height - PAD.bottom }));
      const onLeft = x > s.width - 140;  // keep the label inside the chart
      const label = svgEl("text", { class: "axis", x: onLeft ? x - 4 : x + 4, y: PAD.top + 10, "text-anchor": onLeft ? "end" : "start" });
      svg.appendChild(label).textContent = "peak " + bytes(T.peak_bytes);
    }
    for (const point of D.live) svg.appendChild(svgEl("circle", { class: "point", cx: s.x(point.time_s), cy: s.y(point.total_bytes), r: 2.5 }));
    if (state.range) {
      const [a, b] = state.range;
      svg.appendChild(svgEl("rect", { class: "sel", x: s.x(a), y: PAD.top, width: Math.max(2, s.x(b) - s.x(a)), height: s.height - PAD.top - PAD.bottom }));
    }
  }
  function liveIn(a, b) {  // the largest sampled point inside the range, else the nearest one
    let best = null;
    for (const point of D.live)
      if (point.time_s >= a && point.time_s <= b && (!best || point.total_bytes > best.total_bytes)) best = point;
    if (best) return best;
    const mid = (a + b) / 2;
    for (const point of D.live) if (!best || Math.abs(point.time_s - mid) < Math.abs(best.time_s - mid)) best = point;
    return best;
  }
  function selectRange(a, b) {
    if (!D.live.length) return;
    state.range = [Math.min(a, b), Math.max(a, b)];
    const point = liveIn(state.range[0], state.range[1]);
    show(point, "live at " + point.time_s.toFixed(3) + " s (" + bytes(point.total_bytes) + ")");
  }
  function watchTimeline() {
    const svg = $("timeline");
    if (!svg) return;
    let start = null;
    const timeAt = (event) => {
      const s = timeScale(svg), box = svg.getBoundingClientRect();
      return Math.min(s.t1, Math.max(s.t0, s.t(event.clientX - box.left)));
    };
    svg.addEventListener("mousedown", (event) => { start = timeAt(event); event.preventDefault(); });
    svg.addEventListener("mousemove", (event) => {
      if (start === null) return;
      state.range = [Math.min(start, timeAt(event)), Math.max(start, timeAt(event))];
      drawTimeline();
    });
    window.addEventListener("mouseup", (event) => {
      if (start === null) return;
      const end = timeAt(event);
      const a = start;
      start = null;
      selectRange(a, end);
    });
  }

  // ---- putting it together ----
  function show(view, label) {
    state.view = view;
    state.label = label;
    state.root = buildTree(view);
    state.zoom = state.root;
    state.sort = null;
    $("showing").textContent = label || D.view_title;
    if ($("back")) $("back").disabled = !label;
    drawFlame();
    drawTable();
    drawTimeline();
  }
  function header() {
    document.title = D.title;
    $("title").textContent = D.title;
    const dl = $("facts");
    for (const [k, v] of D.summary) { dl.appendChild(el("dt", {}, k)); dl.appendChild(el("dd", {}, v)); }
  }
  function wire() {
    const flame = $("flame");
    flame.addEventListener("mousemove", tooltip);
    flame.addEventListener("mouseleave", () => { $("tip").style.display = "none"; });
    flame.addEventListener("click", (event) => {
      const node = event.target.memhoundNode;
      if (node) { state.zoom = node; drawFlame(); }
    });
    $("unzoom").addEventListener("click", () => { state.zoom = state.root; drawFlame(); });
    $("search").addEventListener("input", (event) => { state.query = event.target.value.trim().toLowerCase(); drawFlame(); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.zoom !== state.root) { state.zoom = state.zoom.parent || state.root; drawFlame(); }
    });
    if ($("back")) $("back").addEventListener("click", () => { state.range = null; show(D.main, ""); });
    let resizing = null;
    window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(() => { drawFlame(); drawTimeline(); }, 100); });
    watchTimeline();
  }
  header();
  wire();
  show(D.main, "");
  window.memhoundReport = { selectRange: selectRange, state: state };  // for scripted use
})();
