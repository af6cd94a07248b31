"""What a magic displays: one object with a text/plain and a text/html representation, so that
a notebook shows the HTML and terminal IPython the text."""

from __future__ import annotations

import html
from typing import Any


class Rendered:
    """A rendered report: IPython's display shows `html` where it can, `text` elsewhere."""

    def __init__(self, text: str, html_fragment: str) -> None:
        self.text = text
        self.html = html_fragment

    def _repr_html_(self) -> str:
        return self.html

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)

    def __repr__(self) -> str:
        return self.text


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


# Shared by the sites table and the leak findings: readable in light and dark notebook themes
# (inherits the colours, draws only thin borders).
STYLE = """<style>
.memhound table{border-collapse:collapse;margin:.4em 0;font-size:90%}
.memhound th,.memhound td{border-bottom:1px solid rgba(128,128,128,.35);padding:2px 8px;
text-align:left;vertical-align:top}
.memhound td.num,.memhound th.num{text-align:right;white-space:nowrap}
.memhound code{white-space:pre}
.memhound .muted{opacity:.7}
.memhound .kind{border:1px solid rgba(128,128,128,.6);border-radius:3px;padding:0 4px;
margin-right:3px;font-size:85%}
</style>"""


def section(title: str, notes: list[str], body: str) -> str:
    """A titled block of memhound output, with muted notes under the title."""
    lines = "".join(f'<div class="muted">{escape(note)}</div>' for note in notes if note)
    return f'<div class="memhound">{STYLE}<b>{escape(title)}</b>{lines}{body}</div>'


# The height of an embedded report: its flame graph and the first rows of its table.
FRAME_HEIGHT_PX = 600


# Opens the embedded report at its flame graph (its heading) rather than at its header.
_AT_FLAME_GRAPH = """<script>
addEventListener("load", () => {
  const flame = document.getElementById("flame");
  const heading = flame && flame.previousElementSibling && flame.previousElementSibling.previousElementSibling;
  (heading && heading.tagName === "H2" ? heading : flame)?.scrollIntoView();
});
</script>
"""


def embedded_page(document: str, title: str) -> str:
    """A whole HTML document inside an iframe of the output, scrolled to its flame graph.
    Notebooks sandbox what outputs embed: `allow-scripts` lets the page's script draw (it needs
    nothing else: no network, no storage, no access to the notebook)."""
    at, body_end, rest = document.rpartition("</body>")
    if body_end:
        document = at + _AT_FLAME_GRAPH + body_end + rest
    return (
        f'<iframe srcdoc="{escape(document)}" sandbox="allow-scripts" title="{escape(title)}" '
        f'style="width:100%;height:{FRAME_HEIGHT_PX}px;border:1px solid rgba(128,128,128,.35);'
        'margin-top:.5em"></iframe>'
    )
