"""HTML reports (memhound flamegraph, memhound leaks --html), loaded in a headless Chromium.

A known program is traced once; each view's page is opened in the browser, and what a person
does with it (hover, zoom, search, sort, drag across the timeline) is done with real mouse and
keyboard events through the DevTools protocol (tests/python/devtools.py). With
MEMHOUND_UPDATE_SCREENSHOT=1 the peak report of the bundled demo is saved as
docs/images/flamegraph.png, the README's picture.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cli_contract import line_of, run_memhound, write_program
from devtools import Browser

import memhound
from memhound.report.html import _data, render_capture_html, render_leaks_html
from memhound.report.html._page import _embedded_json

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024

# Two phases a person can tell apart on the timeline: phase_a holds ~8 MiB for 0.3 s, then is
# freed; phase_b holds ~3 MiB to the end (the leaks view); sidecar holds ~2 MiB all along; churn
# makes temporary allocations.
PHASES = """\
    import time

    KEPT = []

    def phase_a():
        return [bytearray(2048) for _ in range(4000)]  # phase-a line

    def phase_b():
        return [bytearray(1024) for _ in range(3000)]  # phase-b line

    def sidecar():
        return [bytearray(1024) for _ in range(2000)]

    def churn():
        for _ in range(30000):
            bytes(300)  # churn line

    def main():
        KEPT.append(sidecar())
        held = phase_a()
        time.sleep(0.3)
        del held
        KEPT.append(phase_b())
        time.sleep(0.3)
        churn()

    main()
"""

LEAKY = """\
    CACHE = []

    def leaky():
        CACHE.append([object() for _ in range(50)])  # leak line
"""

FRAMES_JS = """(() => Array.from(document.querySelectorAll('#flame .fr')).map((e) => ({
    depth: +e.dataset.depth, name: e.textContent, left: e.getBoundingClientRect().left,
    width: e.getBoundingClientRect().width, bytes: e.memhoundNode.bytes,
    ancestor: e.classList.contains('ancestor'), match: e.classList.contains('match')})))()"""


@pytest.fixture(scope="module")
def browser():
    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("html")
    script = write_program(folder, PHASES)
    capture = folder / "phases.bin"
    done = run_memhound("run", "-o", str(capture), str(script), cwd=folder)
    assert done.returncode == 0, done.stderr
    pages = {}
    for view in ("peak", "leaks", "temporary"):
        page = folder / f"{view}.html"
        done = run_memhound("flamegraph", str(capture), "-o", str(page), f"--{view}", cwd=folder)
        assert done.returncode == 0, done.stderr
        pages[view] = page
    return {"folder": folder, "script": script, "capture": capture, "pages": pages}


def frames(browser: Browser) -> list[dict[str, Any]]:
    return browser.evaluate(FRAMES_JS)


def widest(drawn: list[dict[str, Any]], depth: int) -> dict[str, Any]:
    return max(
        (f for f in drawn if f["depth"] == depth and not f["ancestor"]), key=lambda f: f["width"]
    )


def named(drawn: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in drawn if f["name"] == name or f["name"].startswith(name + ".")]


def opened(browser: Browser, page: Path) -> None:
    browser.console.clear()
    browser.exceptions.clear()
    browser.requests.clear()
    browser.open(page)
    assert browser.errors() == []
    # Nothing is fetched but the file itself: scripts, styles and data are inline.
    assert browser.requests == [page.resolve().as_uri()]


def site_bytes(capture: Path, view: str, function: str) -> int:
    rows = memhound.read_capture(capture).sites(view, "stack")
    return sum(
        row["bytes"]
        for row in rows
        if any(f["function"].split(".")[0] == function for f in row["frames"])
    )


def screenshot(browser: Browser, path: Path) -> None:
    browser.screenshot(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


@pytest.mark.parametrize(
    ("view", "top"), [("peak", "phase_a"), ("leaks", "phase_b"), ("temporary", "churn")]
)
def test_each_view_opens_with_its_top_frames(browser, traced, view, top, tmp_path):
    opened(browser, traced["pages"][view])
    drawn = frames(browser)
    assert widest(drawn, 1)["name"] == "<module>"
    assert widest(drawn, 2)["name"] == "main"
    assert widest(drawn, 3)["name"] == top
    # Widths are bytes: the top function's share of the page is its share of the capture (a
    # frame is a line: the function's lines are frames side by side).
    root = widest(drawn, 0)
    lines = [f for f in drawn if f["depth"] == 3 and f["name"] == top]
    expected = site_bytes(traced["capture"], view, top)
    assert sum(f["bytes"] for f in lines) == pytest.approx(expected, rel=0.01)
    assert sum(f["width"] for f in lines) / root["width"] == pytest.approx(
        expected / root["bytes"], abs=0.01
    )
    screenshot(browser, tmp_path / f"{view}.png")


def test_hover_shows_bytes_count_place_and_source(browser, traced):
    opened(browser, traced["pages"]["peak"])
    browser.hover('#flame .fr[data-depth="3"]')
    tip = browser.evaluate("document.getElementById('tip').innerText")
    line = line_of(traced["script"], "# phase-a line")
    assert tip.startswith("phase_a")
    assert f"{traced['script']}:{line}" in tip
    assert "return [bytearray(2048) for _ in range(4000)]" in tip
    assert re.search(r"[\d.]+ MiB \(\d+\.\d%\), [\d,]+ allocations", tip)


def test_click_zooms_in_and_reset_zooms_out(browser, traced):
    opened(browser, traced["pages"]["peak"])
    width = browser.evaluate("document.getElementById('flame').clientWidth")
    before = named(frames(browser), "phase_a")[0]
    assert before["width"] < width * 0.99  # imports and the interpreter hold the rest
    assert browser.evaluate("document.getElementById('unzoom').disabled")
    browser.click('#flame .fr[data-depth="3"]')
    drawn = frames(browser)
    zoomed = next(f for f in drawn if f["depth"] == 3)
    assert zoomed["name"] == "phase_a"
    assert zoomed["width"] == pytest.approx(width, abs=2)
    ancestors = [f["name"] for f in drawn if f["ancestor"]]
    assert ancestors[0].startswith("all (") and ancestors[1:] == ["<module>", "main"]
    below = [f for f in drawn if f["depth"] > 3]
    assert all(f["name"].startswith("phase_a") for f in below if f["depth"] == 4)
    browser.click("#unzoom")
    drawn = frames(browser)
    after = named(drawn, "phase_a")[0]
    assert after["width"] / widest(drawn, 0)["width"] == pytest.approx(
        before["width"] / width, abs=0.002
    )
    assert browser.evaluate("document.getElementById('unzoom').disabled")


def test_search_highlights_matching_frames_and_their_share(browser, traced):
    opened(browser, traced["pages"]["leaks"])
    browser.type("#search", "phase_b")
    drawn = frames(browser)
    matched = [f for f in drawn if f["match"]]
    assert matched and all("phase_b" in f["name"] for f in matched)
    assert not any(f["match"] for f in drawn if "phase_b" not in f["name"])
    text = browser.evaluate("document.getElementById('matched').textContent")
    share = float(browser.evaluate("document.getElementById('matched').dataset.share"))
    root = widest(drawn, 0)["bytes"]
    assert share == pytest.approx(
        site_bytes(traced["capture"], "leaks", "phase_b") / root, abs=1e-3
    )
    assert f"{100 * share:.1f}%" in text
    browser.type("#search", "no-such-function-anywhere")
    assert "no frame matches" in browser.evaluate("document.getElementById('matched').textContent")


def table(browser: Browser) -> list[list[str]]:
    return browser.evaluate(
        "Array.from(document.querySelectorAll('#sites tbody tr'))"
        ".map((tr) => Array.from(tr.cells).map((td) => td.textContent))"
    )


def column(browser: Browser, title: str) -> int:
    titles = browser.evaluate(
        "Array.from(document.querySelectorAll('#sites th')).map((th) => th.textContent)"
    )
    return titles.index(title)


def test_table_sorts_by_the_clicked_column(browser, traced):
    opened(browser, traced["pages"]["peak"])
    count = column(browser, "count")
    assert len(table(browser)) > 3
    browser.click(f'#sites th[data-column="{count}"]')
    counts = [int(row[count].replace(",", "")) for row in table(browser)]
    assert counts == sorted(counts, reverse=True)
    browser.click(f'#sites th[data-column="{count}"]')
    counts = [int(row[count].replace(",", "")) for row in table(browser)]
    assert counts == sorted(counts)
    where = column(browser, "where")
    browser.click(f'#sites th[data-column="{where}"]')
    places = [row[where] for row in table(browser)]
    assert places == sorted(places, key=lambda text: browser_order(browser, places, text))


def browser_order(browser: Browser, places: list[str], text: str) -> int:
    # The page sorts with localeCompare: rank each value as the browser ranks it.
    ranked = browser.evaluate(f"{json.dumps(places)}.slice().sort((a, b) => a.localeCompare(b))")
    return ranked.index(text)


def phase_times(capture: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """(start, end) of the samples while phase_a's 8 MiB were live, and of those of phase_b."""
    timeline = memhound.read_capture(capture).timeline()
    a = [p["time_s"] for p in timeline if p["traced_bytes"] > 9 * MiB]
    b = [
        p["time_s"]
        for p in timeline
        if p["time_s"] > a[-1] and 4 * MiB < p["traced_bytes"] < 7 * MiB
    ]
    return (a[0], a[-1]), (b[0], b[-1])


def drag_over(browser: Browser, start: float, end: float) -> None:
    x0 = browser.evaluate(f"memhoundReport.timeX({start})")
    x1 = browser.evaluate(f"memhoundReport.timeX({end})")
    _, y = browser.center("#timeline")
    left = browser.evaluate("document.getElementById('timeline').getBoundingClientRect().left")
    browser.drag((left + x0, y), (left + x1, y))


def test_selecting_a_time_range_shows_what_was_live_then(browser, traced, tmp_path):
    opened(browser, traced["pages"]["peak"])
    (a0, a1), (b0, b1) = phase_times(traced["capture"])
    drag_over(browser, b0, b1)
    showing = browser.evaluate("document.getElementById('showing').textContent")
    assert showing.startswith("live at ")
    names = {f["name"].split(".")[0] for f in frames(browser)}
    assert "phase_b" in names and "phase_a" not in names
    assert not browser.evaluate("document.getElementById('back').disabled")
    drag_over(browser, a0, a1)
    names = {f["name"].split(".")[0] for f in frames(browser)}
    assert "phase_a" in names and "phase_b" not in names
    sites = {row[column(browser, "function")].split(".")[0] for row in table(browser)}
    assert "phase_a" in sites and "phase_b" not in sites
    screenshot(browser, tmp_path / "range.png")
    browser.click("#back")
    assert (
        browser.evaluate("document.getElementById('showing').textContent")
        == "memory live at the peak"
    )
    assert browser.errors() == []


def test_leak_report_shows_kinds_sites_and_retention_paths(browser, tmp_path):
    script = write_program(tmp_path, LEAKY, "leaky_module.py")
    page = tmp_path / "leaks.html"
    done = run_memhound("leaks", f"{script}:leaky", "--html", str(page), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    opened(browser, page)
    rows = table(browser)
    assert rows and "global" in rows[0][column(browser, "kinds")]
    assert "CACHE" in rows[0][column(browser, "retained by")]
    where = (
        rf"leaky(\.<locals>\.<listcomp>)? {re.escape(str(script))}:{line_of(script, '# leak line')}"
    )
    assert re.fullmatch(where, rows[0][column(browser, "allocated at")])
    assert any(f["name"] == "leaky" for f in frames(browser))
    browser.click("#sites tbody tr")
    detail = browser.evaluate("document.getElementById('detail').innerText")
    assert "retention path" in detail and "module_global" in detail
    assert "CACHE.append([object() for _ in range(50)])" in detail
    screenshot(browser, tmp_path / "leaks.png")


def test_demo_peak_report_and_the_readme_screenshot(browser, tmp_path):
    capture = tmp_path / "demo.bin"
    done = run_memhound("run", "-o", str(capture), "examples/demo_service.py", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    page = tmp_path / "demo.html"
    done = run_memhound("flamegraph", str(capture), "-o", str(page), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    opened(browser, page)
    drawn = frames(browser)
    assert widest(drawn, 1)["name"] == "<module>"
    assert widest(drawn, 2)["name"] == "<genexpr>"
    assert widest(drawn, 3)["name"] == "handle_request"
    browser.evaluate("window.scrollTo(0, 0)")  # the picture: the page's top, a frame's tooltip
    browser.hover('#flame .fr[data-depth="3"]', scroll=False)
    assert "handle_request" in browser.evaluate("document.getElementById('tip').innerText")
    shot = tmp_path / "flamegraph.png"
    screenshot(browser, shot)
    if os.environ.get("MEMHOUND_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs" / "images").mkdir(exist_ok=True)
        (ROOT / "docs" / "images" / "flamegraph.png").write_bytes(shot.read_bytes())


def test_a_window_without_rss_samples_has_no_timeline(browser, traced):
    page = traced["folder"] / "window.html"
    done = run_memhound("flamegraph", str(traced["capture"]), "--until", "2000", "-o", str(page))
    assert done.returncode == 0, done.stderr
    opened(browser, page)
    assert browser.evaluate("document.getElementById('timeline')") is None
    assert "No RSS samples" in browser.evaluate("document.body.innerText")
    assert widest(frames(browser), 0)["width"] > 0
    assert "window" in browser.evaluate("document.getElementById('facts').innerText")


def test_page_is_self_contained(traced):
    text = traced["pages"]["peak"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text


def test_embedded_data_cannot_close_its_script():
    document = {"frames": [["f", "x.py", 1, "s = '</script><!-- x'"]]}
    text = _embedded_json(document)
    assert "<" not in text
    assert json.loads(text) == document


def test_views_keep_their_largest_stacks_and_sum_the_rest():
    entries = [(i, 10_000 - i, 1) for i in range(_data.MAX_STACKS + 500)]
    entries.append((99_999, 1, 7))  # under MIN_SHARE of the total
    total = sum(e[1] for e in entries)
    view = _data.pruned_view(entries, total, sum(e[2] for e in entries))
    assert len(view["stacks"]) == _data.MAX_STACKS
    assert view["stacks"][0] == [0, 10_000, 1]
    kept = sum(e[1] for e in view["stacks"])
    assert view["rest"] == [total - kept, 507, 501]


def test_render_capture_html_is_a_full_document(traced):
    capture = memhound.read_capture(traced["capture"])
    text = render_capture_html(capture)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "memory live at the peak" in text
    with pytest.raises(ValueError, match="unknown view"):
        render_capture_html(capture, "everything")


def test_leak_report_renders_from_its_json_form():
    report = json.loads(
        (ROOT / "docs" / "leaks-json.md").read_text().split("```json\n")[1].split("```")[0]
    )
    text = render_leaks_html(report)
    assert "sqlite3.Connection" in text and "demo_service.BUS.subscribers[33].__self__.db" in text


def test_bad_input_is_one_line_and_exit_2(traced, tmp_path):
    data = bytearray(traced["capture"].read_bytes())
    for at in range(200, 400):
        data[at] ^= 0x5A
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(bytes(data))
    cases = [
        (["flamegraph", str(corrupt), "-o", str(tmp_path / "x.html")], "at offset"),
        (
            ["flamegraph", str(traced["capture"]), "-o", str(tmp_path / "no" / "x.html")],
            "can't write",
        ),
        (["flamegraph", str(traced["capture"]), "--everything"], "unrecognized arguments"),
        (["flamegraph", str(tmp_path / "missing.bin")], "missing.bin"),
        (["flamegraph", str(traced["capture"]), "--peak", "--leaks"], "not allowed with"),
    ]
    for args, says in cases:
        done = run_memhound(*args)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "x.html").exists()


def test_leaks_html_to_an_unwritable_path_is_one_line(tmp_path):
    script = write_program(tmp_path, LEAKY, "leaky_module.py")
    done = run_memhound("leaks", f"{script}:leaky", "--html", str(tmp_path / "no" / "x.html"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"memhound: error: can't write '{tmp_path / 'no' / 'x.html'}': No such file or directory"
    ]


def test_leaks_html_of_a_test_id(browser, tmp_path):
    write_program(
        tmp_path,
        "KEEP = []\n\ndef test_leaky():\n    KEEP.append([object() for _ in range(50)])\n",
        "test_leaky_case.py",
    )
    page = tmp_path / "test-leaks.html"
    done = run_memhound(
        "leaks", "test_leaky_case.py::test_leaky", "--html", str(page), cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    opened(browser, page)
    assert "KEEP" in table(browser)[0][column(browser, "retained by")]
