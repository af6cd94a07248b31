"""memhound.graph(): the reference graph as DOT, rendered SVG and PNG, and its bad input."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

import memhound

HOLDER: dict[str, object] = {}
SVG = "{http://www.w3.org/2000/svg}"


class Leaf:
    pass


@pytest.fixture(autouse=True)
def empty_holder() -> Iterator[None]:
    HOLDER.clear()
    yield
    HOLDER.clear()


def needs_dot() -> None:
    if shutil.which("dot") is None:
        pytest.fail("these tests render with Graphviz: install it (apt-get install graphviz)")


def test_referrers_graph_has_labelled_nodes_and_edges() -> None:
    leaf = Leaf()
    HOLDER["cache"] = {"k": leaf}
    result = memhound.graph(leaf, depth=2)
    target = next(node for node in result.nodes if node.is_target)
    assert (target.type_name, target.size) == (f"{__name__}.Leaf", sys.getsizeof(leaf))
    ids = {node.id: node for node in result.nodes}
    into_leaf = [edge for edge in result.edges if edge.target == target.id]
    cache_edge = next(edge for edge in into_leaf if edge.label == "['k']")
    cache = ids[cache_edge.source]
    assert (cache.type_name, cache.text) == ("dict", "len 1")
    assert any(
        ids[e.source].type_name == "dict" and e.label == "['cache']"
        for e in result.edges
        if e.target == cache.id
    ), "depth 2: HOLDER's entry 'cache' leads to the cache"
    local = next(node for node in result.nodes if node.kind == "frame")
    assert local.text.endswith("test_referrers_graph_has_labelled_nodes_and_edges() local 'leaf'")
    dot = result.dot
    assert dot.startswith("digraph memhound {") and dot.rstrip().endswith("}")
    assert f"{cache.id} -> {target.id} [label=\"['k']\"];" in dot
    assert f"{__name__}.Leaf\\n" in dot
    assert "referrers, depth 2" in repr(result)


def test_referents_graph_follows_references_out() -> None:
    root = {"left": [1.5, "text"], "right": Leaf()}
    HOLDER["root"] = root
    result = memhound.graph(root, depth=2, direction="referents")
    by_text = {(node.type_name, node.text): node for node in result.nodes}
    left = by_text[("list", "len 2")]
    assert ("float", "1.5") in by_text and ("str", "'text'") in by_text
    labels = {(e.source, e.target): e.label for e in result.edges}
    target = next(node for node in result.nodes if node.is_target)
    assert labels[(target.id, left.id)] == "['left']"
    assert labels[(left.id, by_text[("str", "'text'")].id)] == "[1]"


def test_closure_cell_edges_are_named() -> None:
    leaf = Leaf()

    def make() -> object:
        held = leaf

        def reader() -> object:
            return held

        return reader

    HOLDER["reader"] = make()
    result = memhound.graph(leaf, depth=3)
    ids = {node.id: node for node in result.nodes}
    target = next(node for node in result.nodes if node.is_target)
    into = {ids[e.source].type_name: e.label for e in result.edges if e.target == target.id}
    assert into["cell"] == "cell_contents"
    labels = {e.label for e in result.edges}  # (`leaf` is a cell of this test's frame too)
    reader = next(node for node in result.nodes if node.text.endswith("make.<locals>.reader()"))
    assert {e.label for e in result.edges if e.source == reader.id} == {"__closure__"}
    assert (
        "<closure of test_closure_cell_edges_are_named.<locals>.make.<locals>.reader> cell 'held'"
        in labels
    )


def test_max_nodes_cuts_the_search() -> None:
    leaf = Leaf()
    HOLDER["many"] = [[leaf] for _ in range(30)]
    result = memhound.graph(leaf, depth=3, max_nodes=5)
    assert len(result.nodes) == 5 and result.truncated
    ids = {node.id for node in result.nodes}
    assert all(edge.source in ids and edge.target in ids for edge in result.edges)
    assert "(cut at max_nodes)" in repr(result)


def test_descriptions_run_none_of_the_programs_code() -> None:
    class Loud:
        def __repr__(self) -> str:
            raise AssertionError("graph() must not call repr() of the program's objects")

    loud = Loud()
    HOLDER["loud"] = loud
    result = memhound.graph(loud, depth=1)
    target = next(node for node in result.nodes if node.is_target)
    assert target.text == f"at {id(loud):#x}"


def test_dot_file(tmp_path: Path) -> None:
    leaf = Leaf()
    HOLDER["leaf"] = leaf
    written = memhound.graph(leaf, path=tmp_path / "g.dot")
    assert written.path == str(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == written.dot


def test_svg_rendering_parses_and_names_the_nodes(tmp_path: Path) -> None:
    needs_dot()
    leaf = Leaf()
    HOLDER["cache"] = {"k": leaf}
    memhound.graph(leaf, depth=2, path=tmp_path / "g.svg")
    tree = ElementTree.parse(tmp_path / "g.svg")
    assert tree.getroot().tag == f"{SVG}svg"
    texts = [element.text for element in tree.iter(f"{SVG}text")]
    assert f"{__name__}.Leaf" in texts
    assert "['k']" in texts
    assert "len 1" in texts


def test_png_rendering_writes_a_png(tmp_path: Path) -> None:
    needs_dot()
    leaf = Leaf()
    HOLDER["leaf"] = leaf
    memhound.graph(leaf, depth=1, path=str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_directory_is_one_clear_error() -> None:
    with pytest.raises(memhound.UsageError, match="directory /nonexistent/dir does not exist"):
        memhound.graph(Leaf(), path="/nonexistent/dir/x.svg")


def test_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(memhound.UsageError, match=r"must end in \.dot, \.gv, \.svg or \.png"):
        memhound.graph(Leaf(), path=tmp_path / "g.txt")


def test_rendering_without_graphviz_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    with pytest.raises(memhound.MemhoundError, match="needs Graphviz's `dot` program"):
        memhound.graph(Leaf(), path=tmp_path / "g.svg")
    leaf = Leaf()
    HOLDER["leaf"] = leaf
    memhound.graph(leaf, path=tmp_path / "g.dot")  # DOT text needs no Graphviz
    assert os.path.getsize(tmp_path / "g.dot") > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"depth": -1}, "depth must be an int of at least 1"),
        ({"depth": 0}, "depth must be an int of at least 1"),
        ({"direction": "up"}, "direction must be 'referrers' or 'referents'"),
        ({"max_nodes": 0}, "max_nodes must be a positive int"),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(memhound.UsageError, match=message):
        memhound.graph(Leaf(), **options)  # type: ignore[arg-type]


def test_an_object_only_the_call_holds_is_alone_in_its_graph() -> None:
    result = memhound.graph(float(len("abc")) + 0.25)  # a float only the call refers to
    assert [(node.type_name, node.text, node.is_target) for node in result.nodes] == [
        ("float", "3.25", True)
    ]
    assert result.edges == ()
    lonely = Leaf()  # a GC object is always found; nothing else refers to it here but this frame
    nodes = memhound.graph(lonely, depth=2).nodes
    assert [node.kind for node in nodes] == ["object", "frame"]
