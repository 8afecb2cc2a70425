"""Lineage graphs for people: ``iml4e lineage`` and ``iml4e model show NAME VERSION`` print them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iml4e.cli.output import console

if TYPE_CHECKING:
    from iml4e.pipelines.lineage import LineageGraph


def print_lineage(graph: LineageGraph) -> None:
    """Print ``graph`` as trees: what its root was made from and what used it."""
    from rich.tree import Tree

    root = graph.nodes[graph.root]
    for upstream, title in ((True, "made from"), (False, "used by")):
        if graph.direction == ("downstream" if upstream else "upstream"):
            continue
        tree = Tree(f"{root.kind} {root.label} — {title}")
        _grow(graph, graph.root, tree, upstream, {graph.root})
        console.print(tree, highlight=False)
    datasets = ", ".join(node.label for node in graph.of_kind("dataset")) or "none"
    models = ", ".join(node.label for node in graph.of_kind("model")) or "none"
    console.print(f"datasets: {datasets}\nmodels: {models}", highlight=False)


def _grow(graph: LineageGraph, node_id: str, tree: Any, upstream: bool, seen: set[str]) -> None:
    neighbours = graph.upstream_of(node_id) if upstream else graph.downstream_of(node_id)
    for other in dict.fromkeys(neighbours):
        node = graph.nodes[other]
        label = f"{node.kind} {node.label}"
        if node.kind == "step" and node.details.get("code_hash"):
            label += f" code {node.details['code_hash'][:10]} {node.details.get('step_ref')}"
        if other in seen:
            tree.add(label + " (see above)")
            continue
        branch = tree.add(label)
        _grow(graph, other, branch, upstream, seen | {other})
