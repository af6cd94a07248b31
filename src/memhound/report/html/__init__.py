"""HTML reports: one self-contained page per capture view or leak check.

`render_capture_html(capture, view)` and `render_leaks_html(report)` return the whole document
as a string; `write_html(text, path)` writes it. The page holds a bounded summary of the data
(see _data), never the events, and loads nothing from the network.
"""

from memhound.report.html._capture import render_capture_html
from memhound.report.html._leaks import render_leaks_html
from memhound.report.html._write import write_html

__all__ = ["render_capture_html", "render_leaks_html", "write_html"]
