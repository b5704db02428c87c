"""Jobs and asset selections, with Dagster's names: `AssetSelection` (an expression over
keys, groups and tags, resolved against a graph) and `define_asset_job`.

A job is a named selection with its run config and tags. `Definitions(jobs=...)`
resolves it to asset keys once; the compiled AssetGraph carries the keys, so the CLI,
schedules and the UI can launch a job without the user's code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kasset.definitions.keys import AssetKey
from kasset.errors import DefinitionError, SelectionError

if TYPE_CHECKING:
    from kasset.graph import AssetGraph

__all__ = ["AssetSelection", "JobDefinition", "UnresolvedAssetJobDefinition", "define_asset_job"]


class AssetSelection:
    """Which assets: `AssetSelection.groups("raw") | AssetSelection.assets(orders).downstream()`.

    Combine with `|` (either), `&` (both) and `-` (the first without the second).
    """

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        raise NotImplementedError

    # Constructors (Dagster's names)
    @staticmethod
    def all(include_sources: bool = False) -> AssetSelection:
        return _All()

    @staticmethod
    def assets(*assets: Any) -> AssetSelection:
        return _Keys(tuple(AssetKey.from_coercible(a) for a in assets))

    @staticmethod
    def keys(*keys: Any) -> AssetSelection:
        return _Keys(tuple(AssetKey.from_coercible(k) for k in keys))

    @staticmethod
    def key_prefixes(*prefixes: str | Sequence[str]) -> AssetSelection:
        return _Prefixes(tuple((p,) if isinstance(p, str) else tuple(p) for p in prefixes))

    @staticmethod
    def groups(*group_names: str) -> AssetSelection:
        return _Groups(tuple(group_names))

    @staticmethod
    def tag(key: str, value: str = "") -> AssetSelection:
        return _Tag(key, value or None)

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """kasset's selection syntax (`raw/orders+`, `group:raw`, `tag:k=v`, `*`)."""
        return _Text(text)

    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Walk(self, "up", depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Walk(self, "down", depth, include_self)

    def required_multi_asset_neighbors(self) -> AssetSelection:
        return self  # every kasset asset is its own step

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _Combined(self, _coerce(other), "or")

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _Combined(self, _coerce(other), "and")

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return _Combined(self, _coerce(other), "sub")


@dataclass(frozen=True)
class _All(AssetSelection):
    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return set(graph.nodes)


@dataclass(frozen=True)
class _Keys(AssetSelection):
    asset_keys: tuple[AssetKey, ...]

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        for key in self.asset_keys:
            if key not in graph.nodes:
                graph.resolve_key(key.to_string())  # raises, with a suggestion
        return set(self.asset_keys)


@dataclass(frozen=True)
class _Prefixes(AssetSelection):
    prefixes: tuple[tuple[str, ...], ...]

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {k for k in graph.nodes if any(k.path[: len(p)] == p for p in self.prefixes)}


@dataclass(frozen=True)
class _Groups(AssetSelection):
    names: tuple[str, ...]

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {k for k, node in graph.nodes.items() if node.group in self.names}


@dataclass(frozen=True)
class _Tag(AssetSelection):
    key: str
    value: str | None

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return {
            k
            for k, node in graph.nodes.items()
            if self.key in node.tags and (self.value is None or node.tags[self.key] == self.value)
        }


@dataclass(frozen=True)
class _Text(AssetSelection):
    text: str

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        return set(graph.select(self.text))


@dataclass(frozen=True)
class _Walk(AssetSelection):
    inner: AssetSelection
    direction: str
    depth: int | None
    include_self: bool

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        start = self.inner.resolve(graph)
        found: set[AssetKey] = set(start) if self.include_self else set()
        frontier, level = set(start), 0
        while frontier and (self.depth is None or level < self.depth):
            nxt: set[AssetKey] = set()
            for key in frontier:
                if self.direction == "up":
                    nxt.update(graph.parents(key))
                else:
                    nxt.update(graph.children(key))
            nxt -= found | start
            found |= nxt
            frontier, level = nxt, level + 1
        return found


@dataclass(frozen=True)
class _Combined(AssetSelection):
    left: AssetSelection
    right: AssetSelection
    op: str

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        left, right = self.left.resolve(graph), self.right.resolve(graph)
        if self.op == "or":
            return left | right
        if self.op == "and":
            return left & right
        return left - right


def _coerce(value: Any) -> AssetSelection:
    if isinstance(value, AssetSelection):
        return value
    if isinstance(value, str):
        return _Text(value)
    if isinstance(value, Iterable):
        return AssetSelection.assets(*value)
    return AssetSelection.assets(value)


def coerce_selection(value: Any) -> AssetSelection:
    """A selection from an AssetSelection, a selection string, or a list of assets/keys."""
    if value is None:
        return _All()
    return _coerce(value)


@dataclass(frozen=True)
class UnresolvedAssetJobDefinition:
    """What `define_asset_job` returns; `Definitions(jobs=[...])` resolves it."""

    name: str
    selection: AssetSelection
    config: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None


def define_asset_job(
    name: str,
    selection: Any = None,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    run_tags: Mapping[str, Any] | None = None,
    **unsupported: Any,
) -> UnresolvedAssetJobDefinition:
    """A named selection to launch together:
    `define_asset_job("nightly", AssetSelection.groups("raw"))`.

    `config` is the run config its runs get (a RunConfig or its dict form); `tags` and
    `run_tags` label its runs.
    """
    if not name.isidentifier():
        raise DefinitionError(f"job {name!r}: the name must be a Python identifier")
    if unsupported:
        names = ", ".join(sorted(unsupported))
        raise DefinitionError(f"job '{name}': define_asset_job({names}=...) is not supported")
    all_tags = {**(tags or {}), **(run_tags or {})}
    for key, value in all_tags.items():
        if not isinstance(value, str):
            raise DefinitionError(f"job '{name}': tag {key!r} must have a string value")
    return UnresolvedAssetJobDefinition(
        name, coerce_selection(selection), config, dict(all_tags), description
    )


@dataclass(frozen=True)
class JobDefinition:
    """A job resolved against its Definitions: the asset keys it materializes."""

    name: str
    keys: tuple[AssetKey, ...]
    config: Any = None
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    source: UnresolvedAssetJobDefinition | None = field(default=None, compare=False, repr=False)

    @property
    def selection(self) -> str:
        """The keys in kasset's selection syntax."""
        return ",".join(key.to_string() for key in self.keys)


def resolve_job(job: UnresolvedAssetJobDefinition, graph: AssetGraph) -> JobDefinition:
    try:
        keys = job.selection.resolve(graph)
    except (SelectionError, DefinitionError) as error:
        raise DefinitionError(f"job '{job.name}': {error}") from None
    if not keys:
        raise DefinitionError(f"job '{job.name}' selects no assets")
    ordered = tuple(key for key in graph.order if key in keys)
    return JobDefinition(job.name, ordered, job.config, job.tags, job.description, job)
