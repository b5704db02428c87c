"""The asset graph: validation, stable topological order, selection, neighbourhoods.

Pure: built from `AssetNode`s, which come from user code (`Definitions`) or from an
AssetGraph resource (the operator), so both sides order and select the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kasset.definitions.keys import AssetKey
from kasset.definitions.partitions import PartitionsDefinition
from kasset.definitions.policies import RetryPolicy
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
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class AssetGraph:
    """A validated DAG of assets. Raises DefinitionError/CycleError on a bad graph."""

    def __init__(self, nodes: Iterable[AssetNode]) -> None:
        import networkx as nx

        self.nodes: dict[AssetKey, AssetNode] = {}
        for node in nodes:
            if node.key in self.nodes:
                raise DefinitionError(f"duplicate asset key '{node.key}'")
            self.nodes[node.key] = node
        self._dag: nx.DiGraph = nx.DiGraph()
        self._dag.add_nodes_from(self.nodes)
        for node in self.nodes.values():
            for dep in node.deps:
                if dep not in self.nodes:
                    raise DefinitionError(
                        f"asset '{node.key}' depends on '{dep}', which is not defined"
                        f"{_suggest(dep.to_string(), (k.to_string() for k in self.nodes))}"
                    )
                self._dag.add_edge(dep, node.key)
        if not nx.is_directed_acyclic_graph(self._dag):
            raise CycleError(_cycle_members(self._dag))

    @cached_property
    def order(self) -> list[AssetKey]:
        """Topological order; ties broken alphabetically, so the same graph always gives
        the same order."""
        import networkx as nx

        return list(nx.lexicographical_topological_sort(self._dag, key=AssetKey.to_string))

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
        return self.sort(self._dag.predecessors(key))

    def children(self, key: AssetKey) -> list[AssetKey]:
        return self.sort(self._dag.successors(key))

    def upstream(self, key: AssetKey, levels: int = ALL_LEVELS) -> set[AssetKey]:
        return self._walk(key, levels, self._dag.predecessors)

    def downstream(self, key: AssetKey, levels: int = ALL_LEVELS) -> set[AssetKey]:
        return self._walk(key, levels, self._dag.successors)

    def _walk(self, start: AssetKey, levels: int, step: Any) -> set[AssetKey]:
        seen: set[AssetKey] = set()
        frontier = [start]
        depth = 0
        while frontier and (levels == ALL_LEVELS or depth < levels):
            frontier = [n for key in frontier for n in step(key) if n not in seen]
            seen.update(frontier)
            depth += 1
        return seen

    def roots(self) -> list[AssetKey]:
        return [key for key in self.order if not self._dag.in_degree(key)]

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

    def layers(self) -> list[list[AssetKey]]:
        """Assets grouped by longest path from a root: what runs can overlap."""
        depth: dict[AssetKey, int] = {}
        for key in self.order:
            depth[key] = max((depth[p] + 1 for p in self._dag.predecessors(key)), default=0)
        result: list[list[AssetKey]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for key in self.order:
            result[depth[key]].append(key)
        return result

    @property
    def dag(self) -> nx.DiGraph:
        """The underlying networkx graph, read-only by convention (for layout)."""
        return self._dag


def _cycle_members(dag: nx.DiGraph) -> list[str]:
    import networkx as nx

    edges = nx.find_cycle(dag)
    members = [edge[0].to_string() for edge in edges]
    first = members.index(min(members))
    return members[first:] + members[:first]


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
