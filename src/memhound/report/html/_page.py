"""The document: one HTML file with its style, script and data inline (no network when opened)."""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

_SKELETON = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="memhound">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<h1 id="title"></h1>
<dl class="summary" id="facts"></dl>
{timeline}
<h2>Flame graph <span class="note">(width: bytes; click a frame to zoom in, Esc or
"Reset zoom" to go back out)</span></h2>
<div class="controls">
  <span id="showing"></span>
  <input type="search" id="search" placeholder="search functions and files" autocomplete="off">
  <span id="matched"></span>
  <button id="unzoom" type="button">Reset zoom</button>
</div>
<div id="flame"></div>
<h2>{table_title} <span class="note">(click a column to sort)</span></h2>
<table id="sites"></table>
<div class="note" id="table-note"></div>
<div id="detail"></div>
<div class="tip" id="tip"></div>
<script type="application/json" id="memhound-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""

_TIMELINE = """<h2>Timeline <span class="note">(drag across it to see what was live then)</span></h2>
<div class="legend"><span><span class="swatch" style="background:#e76f51"></span>traced memory</span>
<span><span class="swatch" style="background:#8a94a6"></span>RSS</span>
<span><span class="swatch" style="background:#c0392b"></span>peak</span>
<button id="back" type="button" disabled>Back to {view}</button></div>
<svg id="timeline" role="img" aria-label="traced memory and RSS over the run"></svg>
"""

_NO_TIMELINE = '<p class="note">No RSS samples in this capture: no timeline.</p>\n'


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _embedded_json(document: dict[str, Any]) -> str:
    # Inside <script> only "</" can end the element early; "<!--" could open a comment.
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def page(document: dict[str, Any], *, table_title: str) -> str:
    """The full document of a report whose data is `document` (see _data and the renderers)."""
    if document.get("timeline") is None:
        timeline = "" if document["kind"] == "leaks" else _NO_TIMELINE
    else:
        timeline = _TIMELINE.format(view=html.escape(document["view_title"]))
    return _SKELETON.format(
        title=html.escape(document["title"]),
        style=_asset("report.css"),
        timeline=timeline,
        table_title=html.escape(table_title),
        data=_embedded_json(document),
        script=_asset("report.js"),
    )
