"""The UI's layered graph layout and its SVG: layers, order, no overlaps, escaping."""

from __future__ import annotations

import re
from itertools import combinations

from iml4e.server.ui_graph import (
    GraphEdge,
    GraphNode,
    assign_layers,
    count_crossings,
    graph_svg,
    layout_graph,
    order_layers,
)


def _edges(*pairs: str) -> list[GraphEdge]:
    return [GraphEdge(*pair.split(">")) for pair in pairs]


def _nodes(*ids: str) -> list[GraphNode]:
    return [GraphNode(id=node_id, label=node_id) for node_id in ids]


DIAMOND = _edges("a>b", "a>c", "b>d", "c>d", "a>d")


def test_longest_path_layers_put_every_edge_forward() -> None:
    layers = assign_layers(["a", "b", "c", "d", "lone"], DIAMOND)
    assert layers == {"a": 0, "b": 1, "c": 1, "d": 2, "lone": 0}
    chain = assign_layers(["x", "y", "z"], _edges("y>z", "x>y", "x>z"))
    assert chain == {"x": 0, "y": 1, "z": 2}  # x>z does not pull z to layer 1


def test_a_cycle_or_a_dangling_edge_does_not_hang_the_layout() -> None:
    layers = assign_layers(["a", "b", "c"], _edges("a>b", "b>c", "c>b", "a>ghost", "a>a"))
    assert layers["a"] == 0 and {layers["b"], layers["c"]} == {1, 2}


def test_ordering_removes_an_avoidable_crossing() -> None:
    # a1 feeds b2 and a2 feeds b1: listed as given, the two edges cross
    edges = _edges("a1>b2", "a2>b1")
    ids = ["a1", "a2", "b1", "b2"]
    layers = assign_layers(ids, edges)
    assert count_crossings([["a1", "a2"], ["b1", "b2"]], [("a1", "b2"), ("a2", "b1")]) == 1
    ordered = order_layers(ids, edges, layers)
    assert count_crossings(ordered, [(e.source, e.target) for e in edges]) == 0


def test_placed_nodes_never_overlap_and_fit_the_drawing() -> None:
    ids = [f"n{i}" for i in range(12)]
    edges = _edges(*(f"n{i}>n{j}" for i in range(12) for j in range(i + 1, 12) if (i * j) % 5 == 1))
    layout = layout_graph(_nodes(*ids), edges)
    assert len(layout.nodes) == 12
    for one, other in combinations(layout.nodes, 2):
        apart = (
            one.x + one.width <= other.x
            or other.x + other.width <= one.x
            or one.y + one.height <= other.y
            or other.y + other.height <= one.y
        )
        assert apart, (one.node.id, other.node.id)
    for placed in layout.nodes:
        assert placed.x >= 0 and placed.x + placed.width <= layout.width
        assert placed.y >= 0 and placed.y + placed.height <= layout.height
    for source, target in layout.edges:
        assert source.layer < target.layer


def test_a_long_edge_passes_through_free_slots() -> None:
    layout = layout_graph(_nodes("a", "b", "c", "d"), DIAMOND)
    long_edge = (layout.node("a"), layout.node("d"))
    assert len(layout.waypoints[long_edge]) == 1
    _, y = layout.waypoints[long_edge][0]
    for middle in (layout.node("b"), layout.node("c")):  # the waypoint is beside them
        assert not (middle.y <= y <= middle.y + middle.height)


def test_svg_has_a_titled_node_per_node_with_status_classes() -> None:
    nodes = [
        GraphNode("s1", "load", status="succeeded", title="load: succeeded"),
        GraphNode("s2", "train", status="cached", href="#step-2"),
        GraphNode("s3", "serve", status="skipped"),
    ]
    svg = str(graph_svg(nodes, _edges("s1>s2", "s2>s3"), label="Steps", id_prefix="dag"))
    assert svg.startswith("<svg") and 'aria-labelledby="dag-title"' in svg
    assert len(re.findall(r'<g class="node ', svg)) == 3
    assert 'class="node status-cached kind-' not in svg  # no kind given, no kind class
    assert '<g class="node status-cached" data-node="s2">' in svg
    assert "<title>load: succeeded</title>" in svg and "<title>serve</title>" in svg
    assert '<a href="#step-2"' in svg
    assert svg.count('class="edge"') == 2


def test_labels_titles_and_links_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    nodes = [
        GraphNode("x", evil, status='"><b', title=evil, href='javascript:"><script>'),
        GraphNode("y", "fine"),
    ]
    svg = str(graph_svg(nodes, _edges("x>y"), label=evil, id_prefix="<p>"))
    assert "<script>" not in svg and "<b" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg  # the tooltip keeps the whole label
    assert 'id="-p--title"' in svg
