"""The graph a pipeline function builds: named step nodes and the outputs they consume."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from iml4e.pipelines.errors import CycleError, PipelineDefinitionError

if TYPE_CHECKING:
    from iml4e.pipelines.dsl import StepDefinition, StepOutput


@dataclass(frozen=True)
class StepNode:
    """One call of a step in a pipeline: where its inputs come from and its parameters."""

    name: str
    step: StepDefinition[Any, Any]
    inputs: Mapping[str, StepOutput] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def upstream(self) -> frozenset[str]:
        """Names of the steps whose outputs this one reads."""
        return frozenset(output.step for output in self.inputs.values())


@dataclass(frozen=True)
class PipelineGraph:
    """Steps in the order the pipeline function called them, wired by their inputs."""

    name: str
    ref: str
    experiment: str
    params: Mapping[str, Any]
    nodes: Mapping[str, StepNode]

    def order(self) -> list[str]:
        """The steps in a dependency order (ties keep the order they were called in).

        Raises :class:`CycleError` naming the steps of a cycle, and
        :class:`PipelineDefinitionError` when a step reads from a step that does not exist.
        """
        position = {name: index for index, name in enumerate(self.nodes)}
        waiting: dict[str, int] = {}
        downstream: dict[str, list[str]] = {name: [] for name in self.nodes}
        for name, node in self.nodes.items():
            for upstream in node.upstream:
                if upstream not in self.nodes:
                    raise PipelineDefinitionError(
                        f"reads from step {upstream!r}, which is not in the pipeline", where=name
                    )
                downstream[upstream].append(name)
            waiting[name] = len(node.upstream)
        ready = [(position[name], name) for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        ordered: list[str] = []
        while ready:
            _, name = heapq.heappop(ready)
            ordered.append(name)
            for child in downstream[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (position[child], child))
        if len(ordered) < len(self.nodes):
            raise CycleError(self._find_cycle({n for n in self.nodes if n not in ordered}))
        return ordered

    def _find_cycle(self, remaining: set[str]) -> list[str]:
        start = min(remaining, key=list(self.nodes).index)
        path: list[str] = []
        seen: dict[str, int] = {}
        current = start
        while current not in seen:
            seen[current] = len(path)
            path.append(current)
            current = min(
                (up for up in self.nodes[current].upstream if up in remaining),
                key=list(self.nodes).index,
            )
        cycle = path[seen[current] :]
        return list(reversed(cycle))

    def downstream_of(self, name: str) -> set[str]:
        """Every step that depends, directly or not, on step ``name``."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other, node in self.nodes.items():
                if current in node.upstream and other not in found:
                    found.add(other)
                    frontier.append(other)
        return found
