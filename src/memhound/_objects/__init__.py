"""Objects per type, reference counts, referrers and the reference graph (private).

_summary: memhound.summary(), SummaryTracker, show_growth() over the C++ census walk.
_referrers: memhound.refcount() and memhound.referrers() over a heap snapshot.
_graph: memhound.graph(), the reference graph around an object as Graphviz DOT, SVG or PNG.
"""
