"""The asset graph: validation, stable topological order, selection, neighbourhoods.

The core operations are plain Python over adjacency lists (step pods build the graph at
import, and networkx alone costs them ~0.2 s); `AssetGraph.dag` gives a networkx view for
layout and analysis.

Pure: built from `AssetNode`s, which come from user code (`Definitions`) or from an
AssetGraph resource (the operator), so both sides order and select the same way.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kasset.definitions.keys import AssetKey
from kasset.definitions.partition_mappings import PartitionMapping, infer_partition_mapping
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.policies import NO_RETRIES, RetryPolicy
from kasset.definitions.selection import ALL_LEVELS, KeyTerm, parse_selection
from kasset.errors import CycleError, DefinitionError, SelectionError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["AssetGraph", "AssetNode", "CheckNode"]


@dataclass(frozen=True)
class CheckNode:
    name: str
    blocking: bool = False
    description: str | None = None


@dataclass(frozen=True)
class AssetNode:
    """What the graph and the planner need to know of one asset."""

    key: AssetKey
    deps: tuple[AssetKey, ...] = ()
    group: str = "default"
    tags: Mapping[str, str] = field(default_factory=dict)
    partitions: PartitionsDefinition | None = None
    checks: tuple[CheckNode, ...] = ()
    retry_policy: RetryPolicy = NO_RETRIES
    timeout: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Mappings given for some deps; the others use `infer_partition_mapping`'s default.
    partition_mappings: Mapping[AssetKey, PartitionMapping] = field(default_factory=dict)


class AssetGraph:
    """A validated DAG of assets. Raises DefinitionError/CycleError on a bad graph."""

    def __init__(self, nodes: Iterable[AssetNode]) -> None:
        self.nodes: dict[AssetKey, AssetNode] = {}
        for node in nodes:
            if node.key in self.nodes:
                raise DefinitionError(f"duplicate asset key '{node.key}'")
            self.nodes[node.key] = node
        self._parents: dict[AssetKey, list[AssetKey]] = {key: [] for key in self.nodes}
        self._children: dict[AssetKey, list[AssetKey]] = {key: [] for key in self.nodes}
        for node in self.nodes.values():
            for dep in node.deps:
                if dep not in self.nodes:
                    known = (k.to_string() for k in self.nodes)
                    raise DefinitionError(
                        f"asset '{node.key}' depends on '{dep}', which is not defined"
                        f"{_suggest(dep.to_string(), known)}"
                    )
                if node.key not in self._children[dep]:
                    self._children[dep].append(node.key)
                    self._parents[node.key].append(dep)
        self.order: list[AssetKey] = self._topological_order()

    def _topological_order(self) -> list[AssetKey]:
        """Kahn's algorithm, ties broken alphabetically, so the same graph always gives the
        same order. Pure Python: step pods validate the graph at import and must start fast."""
        waiting = {key: len(parents) for key, parents in self._parents.items()}
        ready = [(key.to_string(), key) for key, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[AssetKey] = []
        while ready:
            _, key = heapq.heappop(ready)
            order.append(key)
            for child in self._children[key]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (child.to_string(), child))
        if len(order) < len(self.nodes):
            raise CycleError(self._cycle_members({k for k, n in waiting.items() if n > 0}))
        return order

    def _cycle_members(self, blocked: set[AssetKey]) -> list[str]:
        # Every blocked node has a blocked parent; walking parents must revisit a node.
        start = min(blocked, key=AssetKey.to_string)
        path: list[AssetKey] = []
        seen: dict[AssetKey, int] = {}
        key = start
        while key not in seen:
            seen[key] = len(path)
            path.append(key)
            key = min((p for p in self._parents[key] if p in blocked), key=AssetKey.to_string)
        members = [k.to_string() for k in reversed(path[seen[key] :])]
        first = members.index(min(members))
        return members[first:] + members[:first]

    @cached_property
    def _position(self) -> dict[AssetKey, int]:
        return {key: i for i, key in enumerate(self.order)}

    def sort(self, keys: Iterable[AssetKey]) -> list[AssetKey]:
        return sorted(keys, key=self._position.__getitem__)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, key: object) -> bool:
        return key in self.nodes

    def parents(self, key: AssetKey) -> list[AssetKey]:
        return self.sort(self._parents[key])

    def children(self, key: AssetKey) -> list[AssetKey]:
        return self.sort(self._children[key])

    def upstream(self, key: AssetKey, levels: int = ALL_LEVELS) -> set[AssetKey]:
        return self._walk(key, levels, self._parents)

    def downstream(self, key: AssetKey, levels: int = ALL_LEVELS) -> set[AssetKey]:
        return self._walk(key, levels, self._children)

    def _walk(
        self, start: AssetKey, levels: int, edges: dict[AssetKey, list[AssetKey]]
    ) -> set[AssetKey]:
        seen: set[AssetKey] = set()
        frontier = [start]
        depth = 0
        while frontier and (levels == ALL_LEVELS or depth < levels):
            frontier = [n for key in frontier for n in edges[key] if n not in seen]
            seen.update(frontier)
            depth += 1
        return seen

    def roots(self) -> list[AssetKey]:
        return [key for key in self.order if not self._parents[key]]

    def groups(self) -> list[str]:
        return sorted({node.group for node in self.nodes.values()})

    def select(self, selection: str | None) -> list[AssetKey]:
        """Resolves a selection string to keys, in graph order. Unknown names raise
        SelectionError with the closest matches."""
        if selection is None or selection.strip() == "":
            return list(self.order)
        chosen: set[AssetKey] = set()
        for term in parse_selection(selection):
            if isinstance(term, KeyTerm):
                key = self.resolve_key(term.key)
                chosen.add(key)
                if term.up:
                    chosen |= self.upstream(key, term.up)
                if term.down:
                    chosen |= self.downstream(key, term.down)
            elif term.kind == "all":
                chosen.update(self.nodes)
            elif term.kind == "group":
                matched = {k for k, n in self.nodes.items() if n.group == term.name}
                if not matched:
                    raise SelectionError(
                        f"no asset is in group '{term.name}'{_suggest(term.name, self.groups())}"
                    )
                chosen |= matched
            else:
                matched = {
                    k
                    for k, n in self.nodes.items()
                    if term.name in n.tags
                    and (term.value is None or n.tags[term.name] == term.value)
                }
                if not matched:
                    wanted = term.name if term.value is None else f"{term.name}={term.value}"
                    raise SelectionError(f"no asset has the tag '{wanted}'")
                chosen |= matched
        return self.sort(chosen)

    def resolve_key(self, text: str) -> AssetKey:
        """A full key (`raw/orders`), or a last part that names exactly one asset."""
        key = AssetKey.from_string(text)
        if key in self.nodes:
            return key
        by_name = [k for k in self.nodes if k.name == text]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            names = ", ".join(k.to_string() for k in self.sort(by_name))
            raise SelectionError(f"'{text}' is ambiguous: it could be {names}")
        raise SelectionError(
            f"no asset '{text}' in the graph{_suggest(text, (k.to_string() for k in self.nodes))}"
        )

    def partition_mapping(self, key: AssetKey, dep: AssetKey) -> PartitionMapping | None:
        """How `key`'s partitions read `dep`'s; None when either is unpartitioned."""
        node, upstream = self.nodes[key], self.nodes[dep]
        if node.partitions is None or upstream.partitions is None:
            return None
        return infer_partition_mapping(
            upstream.partitions, node.partitions, node.partition_mappings.get(dep)
        )

    def layers(self) -> list[list[AssetKey]]:
        """Assets grouped by longest path from a root: what runs can overlap."""
        depth: dict[AssetKey, int] = {}
        for key in self.order:
            depth[key] = max((depth[p] + 1 for p in self._parents[key]), default=0)
        result: list[list[AssetKey]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for key in self.order:
            result[depth[key]].append(key)
        return result

    @cached_property
    def dag(self) -> nx.DiGraph:
        """The graph as a networkx DiGraph, for layout and analysis (built on first use)."""
        import networkx as nx

        dag = nx.DiGraph()
        dag.add_nodes_from(self.order)
        dag.add_edges_from((p, k) for k, parents in self._parents.items() for p in parents)
        return dag


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
