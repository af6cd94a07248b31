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
