"""A small layered layout for directed graphs, drawn as SVG on the server.

Used for a pipeline run's DAG and a model version's lineage. Nodes get a layer by longest
path from the sources (every edge points to a later layer), are ordered within their layer by
the barycentre of their neighbours (a few sweeps down and up, keeping the order with the
fewest crossings between neighbouring layers), and are placed on a grid left to right.

:func:`graph_svg` escapes every label and title itself and returns :class:`markupsafe.Markup`,
so a template includes the drawing as it is. Colours are presentation attributes (allowed by
the UI's Content-Security-Policy, unlike ``style`` attributes); every node also carries
``status-<status>`` and ``kind-<kind>`` classes, its status in words, and a ``<title>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise

from markupsafe import Markup

NODE_WIDTH = 170
NODE_HEIGHT = 46
LAYER_GAP = 60
WAYPOINT_HEIGHT = 8
ROW_GAP = 18
MARGIN = 12
LABEL_CHARS = 21
SWEEPS = 4

COLOURS: dict[str, tuple[str, str]] = {
    # status or kind → (fill, stroke); strokes and text keep ≥ 4.5:1 contrast on the fills
    "succeeded": ("#e6f4ea", "#145c2c"),
    "cached": ("#e3eefb", "#0b4f9c"),
    "reused": ("#e3eefb", "#0b4f9c"),
    "failed": ("#fde8e8", "#9b1c1c"),
    "skipped": ("#f0f0f0", "#5b6270"),
    "running": ("#fff4d6", "#7a4a00"),
    "dataset": ("#f3ecfb", "#5b2a86"),
    "artifact": ("#f2f4f7", "#4a4a4a"),
    "model": ("#fff4d6", "#7a4a00"),
}
DEFAULT_COLOURS = ("#ffffff", "#4a4a4a")
TEXT_COLOUR = "#1a1a1a"
_WAYPOINT = "\x00waypoint:"
_CLASS_SAFE = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class GraphNode:
    """A node to draw: ``label`` inside the box, ``title`` as its tooltip (label if empty)."""

    id: str
    label: str
    status: str = ""
    kind: str = ""
    title: str = ""
    href: str | None = None


@dataclass(frozen=True)
class GraphEdge:
    """``source`` → ``target`` (node ids)."""

    source: str
    target: str


@dataclass(frozen=True)
class PlacedNode:
    """A node with its layer, position in the layer and box (top-left corner)."""

    node: GraphNode
    layer: int
    position: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT


@dataclass(frozen=True)
class GraphLayout:
    """Where every node goes, the edges between placed nodes, and the drawing's size."""

    nodes: tuple[PlacedNode, ...]
    edges: tuple[tuple[PlacedNode, PlacedNode], ...]
    width: float
    height: float
    waypoints: dict[tuple[PlacedNode, PlacedNode], tuple[tuple[float, float], ...]] = field(
        default_factory=dict
    )
    """Left end of each slot a long edge passes through, by edge (none for neighbours)."""

    def node(self, node_id: str) -> PlacedNode:
        """The placed node with ``node_id``; :class:`KeyError` if there is none."""
        for placed in self.nodes:
            if placed.node.id == node_id:
                return placed
        raise KeyError(node_id)


def assign_layers(node_ids: Sequence[str], edges: Iterable[GraphEdge]) -> dict[str, int]:
    """Longest-path layering: sources are layer 0, every other node one after its latest
    predecessor. Edges to unknown nodes and self-loops are ignored; nodes on a cycle (which a
    DAG has not) go after everything else instead of looping."""
    known = set(node_ids)
    preds: dict[str, set[str]] = {n: set() for n in node_ids}
    succs: dict[str, set[str]] = {n: set() for n in node_ids}
    for edge in edges:
        if edge.source in known and edge.target in known and edge.source != edge.target:
            preds[edge.target].add(edge.source)
            succs[edge.source].add(edge.target)
    order = {n: k for k, n in enumerate(node_ids)}
    waiting = {n: len(preds[n]) for n in node_ids}
    ready = [n for n in node_ids if waiting[n] == 0]
    layer: dict[str, int] = {}
    while ready:
        current = ready.pop(0)
        layer[current] = max((layer[p] + 1 for p in preds[current] if p in layer), default=0)
        for nxt in sorted(succs[current], key=order.__getitem__):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    last = max(layer.values(), default=-1)
    for n in node_ids:
        if n not in layer:  # on a cycle
            last += 1
            layer[n] = last
    return layer


def order_layers(
    node_ids: Sequence[str], edges: Iterable[GraphEdge], layer: dict[str, int]
) -> list[list[str]]:
    """Nodes of each layer in drawing order: barycentre sweeps, fewest crossings kept."""
    depth = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for n in node_ids:
        layers[layer[n]].append(n)
    pairs = [(e.source, e.target) for e in edges if e.source in layer and e.target in layer]
    preds: dict[str, list[str]] = {n: [] for n in node_ids}
    succs: dict[str, list[str]] = {n: [] for n in node_ids}
    for source, target in pairs:
        if source != target:
            preds[target].append(source)
            succs[source].append(target)
    best = [list(row) for row in layers]
    best_crossings = count_crossings(best, pairs)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, depth) if downward else range(depth - 2, -1, -1)
        for i in indices:
            neighbours = preds if downward else succs
            position = _positions(layers)
            current = {n: k for k, n in enumerate(layers[i])}
            layers[i] = sorted(
                layers[i], key=lambda n: (_barycentre(n, neighbours, position, current), current[n])
            )
        crossings = count_crossings(layers, pairs)
        if crossings < best_crossings:
            best, best_crossings = [list(row) for row in layers], crossings
    return best


def _barycentre(
    node: str, neighbours: dict[str, list[str]], position: dict[str, int], current: dict[str, int]
) -> float:
    seen = [position[m] for m in neighbours[node]]
    return sum(seen) / len(seen) if seen else float(current[node])


def count_crossings(layers: Sequence[Sequence[str]], pairs: Iterable[tuple[str, str]]) -> int:
    """How many pairs of edges between neighbouring layers cross."""
    position = _positions(layers)
    layer_of = {n: i for i, row in enumerate(layers) for n in row}
    spans: dict[int, list[tuple[int, int]]] = {}
    for source, target in pairs:
        if layer_of[target] - layer_of[source] == 1:
            spans.setdefault(layer_of[source], []).append((position[source], position[target]))
    crossings = 0
    for segments in spans.values():
        for k, (a1, b1) in enumerate(segments):
            for a2, b2 in segments[k + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    crossings += 1
    return crossings


def _positions(layers: Sequence[Sequence[str]]) -> dict[str, int]:
    return {n: k for row in layers for k, n in enumerate(row)}


def layout_graph(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]) -> GraphLayout:
    """Place ``nodes`` left to right by layer, each layer's column centred vertically.

    An edge spanning several layers passes through a free slot in each layer between (a
    hidden waypoint ordered like a node), so it never runs through another node's box.
    """
    unique = list({node.id: node for node in nodes}.values())
    ids = [node.id for node in unique]
    by_id = {node.id: node for node in unique}
    layer = assign_layers(ids, edges)
    kept = list(
        dict.fromkeys(
            (e.source, e.target)
            for e in edges
            if e.source in by_id and e.target in by_id and layer[e.source] < layer[e.target]
        )
    )
    all_ids, unit_edges, routes = list(ids), [], {}
    for source, target in kept:
        chain = [source]
        for step in range(layer[source] + 1, layer[target]):
            waypoint = f"{_WAYPOINT}{len(all_ids)}"
            all_ids.append(waypoint)
            layer[waypoint] = step
            chain.append(waypoint)
        chain.append(target)
        unit_edges += [GraphEdge(a, b) for a, b in pairwise(chain)]
        routes[(source, target)] = chain
    rows = order_layers(all_ids, unit_edges, layer)

    def size(node_id: str) -> float:
        return WAYPOINT_HEIGHT if node_id.startswith(_WAYPOINT) else NODE_HEIGHT

    columns = [sum(size(n) for n in row) + max(len(row) - 1, 0) * ROW_GAP for row in rows]
    height = 2 * MARGIN + max(columns, default=0)
    slots: dict[str, tuple[int, int, float, float]] = {}
    for i, row in enumerate(rows):
        y = MARGIN + (height - 2 * MARGIN - columns[i]) / 2
        for k, node_id in enumerate(row):
            slots[node_id] = (i, k, MARGIN + i * (NODE_WIDTH + LAYER_GAP), y)
            y += size(node_id) + ROW_GAP
    placed = {n: PlacedNode(by_id[n], *slots[n]) for n in ids}
    width = 2 * MARGIN + len(rows) * NODE_WIDTH + max(len(rows) - 1, 0) * LAYER_GAP
    drawn = tuple((placed[source], placed[target]) for source, target in kept)
    waypoints = {
        (placed[s], placed[t]): tuple(
            (slots[w][2], slots[w][3] + WAYPOINT_HEIGHT / 2) for w in routes[(s, t)][1:-1]
        )
        for s, t in kept
    }
    return GraphLayout(tuple(placed[n] for n in ids), drawn, width, height, waypoints)


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _css_class(prefix: str, value: str) -> str:
    return f"{prefix}-{_CLASS_SAFE.sub('-', value.lower())}" if value else ""


def graph_svg(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], *, label: str, id_prefix: str
) -> Markup:
    """The graph as an inline SVG element; ``label`` names it for screen readers.

    ``id_prefix`` keeps element ids unique when a page holds more than one drawing.
    """
    layout = layout_graph(nodes, edges)
    prefix = _CLASS_SAFE.sub("-", id_prefix.lower()) or "graph"
    width, height = max(layout.width, 1), max(layout.height, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="group" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="{prefix}-title">',
        f'<title id="{prefix}-title">{escape(label)}</title>',
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#4a4a4a"/></marker></defs>',
        '<g class="edges">',
    ]
    for source, target in layout.edges:
        points = [(source.x + source.width, source.y + source.height / 2)]
        for x, y in layout.waypoints.get((source, target), ()):
            points += [(x, y), (x + NODE_WIDTH, y)]
        points.append((target.x, target.y + target.height / 2))
        parts.append(
            f'<path class="edge" d="{_edge_path(points)}" fill="none" stroke="#4a4a4a" '
            f'stroke-width="1.4" marker-end="url(#{prefix}-arrow)"/>'
        )
    parts.append("</g>")
    for placed in layout.nodes:
        parts.append(_node_svg(placed))
    parts.append("</svg>")
    return Markup("".join(parts))


def _edge_path(points: list[tuple[float, float]]) -> str:
    """Curves between layers, straight runs through the waypoints' slots."""
    (x0, y0), *rest = points
    path = [f"M {x0:.1f} {y0:.1f}"]
    for k, (x, y) in enumerate(rest):
        if k % 2 == 0:  # across the gap between two layers
            px, py = points[k]
            bend = (x - px) / 2
            path.append(f"C {px + bend:.1f} {py:.1f} {x - bend:.1f} {y:.1f} {x:.1f} {y:.1f}")
        else:  # through a waypoint's slot
            path.append(f"L {x:.1f} {y:.1f}")
    return " ".join(path)


def _node_svg(placed: PlacedNode) -> str:
    node = placed.node
    fill, stroke = COLOURS.get(node.status) or COLOURS.get(node.kind) or DEFAULT_COLOURS
    classes = " ".join(
        c for c in ("node", _css_class("status", node.status), _css_class("kind", node.kind)) if c
    )
    words = node.status or node.kind
    dashed = ' stroke-dasharray="5 3"' if node.status == "skipped" else ""
    tooltip = node.title or node.label
    inner = (
        f"<title>{escape(tooltip)}</title>"
        f'<rect x="{placed.x:.1f}" y="{placed.y:.1f}" width="{placed.width:.0f}" '
        f'height="{placed.height:.0f}" rx="5" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="2"{dashed}/>'
        f'<text x="{placed.x + 9:.1f}" y="{placed.y + 19:.1f}" fill="{TEXT_COLOUR}" '
        f'font-size="13" font-weight="600">{escape(_short(node.label))}</text>'
        f'<text class="status-text" x="{placed.x + 9:.1f}" y="{placed.y + 36:.1f}" '
        f'fill="{stroke}" font-size="12">{escape(_short(words))}</text>'
    )
    data_id = f' data-node="{escape(node.id)}"'
    if node.href:
        return (
            f'<a href="{escape(node.href)}" class="node-link"><g class="{classes}"{data_id}>'
            f"{inner}</g></a>"
        )
    return f'<g class="{classes}"{data_id}>{inner}</g>'
