"""From AssetGraph and Materialization resources to the pure core: `AssetGraph` and `RunPlan`.

The operator plans from the resource, not from user code, so this is where a spec's
partitions, retry policies, timeouts and checks become `AssetNode`s, and where every
mistake in a spec becomes one `DefinitionError` with a readable message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kasset.definitions.keys import AssetKey
from kasset.definitions.partitions import (
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    partitions_from_spec,
)
from kasset.definitions.policies import RetryPolicy
from kasset.definitions.schedule import ScheduleDefinition
from kasset.errors import DefinitionError, PlanError
from kasset.graph import AssetGraph, AssetNode, CheckNode
from kasset.plan import INFRA_RETRIES, RunPlan, build_plan
from kasset.resources.assetgraph import AssetGraphSpec, GraphAsset
from kasset.resources.materialization import MaterializationSpec

__all__ = [
    "GraphSnapshot",
    "graph_from_resource",
    "parse_spec",
    "plan_run",
    "run_partitions",
    "snapshot_from_body",
]


@dataclass(frozen=True)
class GraphSnapshot:
    """A validated AssetGraph object: its spec, the pure graph, and asset specs by key."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: AssetGraphSpec
    graph: AssetGraph
    assets: Mapping[AssetKey, GraphAsset]


def parse_spec(model: Any, raw: Any, what: str) -> Any:
    """`model.from_dict(raw)`, with pydantic's errors folded into a DefinitionError."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or what}: {item['msg']}"
            for item in error.errors()[:5]
        )
        raise DefinitionError(f"invalid {what}: {problems}") from None


def graph_from_resource(spec: AssetGraphSpec) -> AssetGraph:
    """The pure graph of an AssetGraph spec. Raises DefinitionError (CycleError for a
    cycle, naming its members) when the spec does not make a valid graph."""
    defaults = spec.defaults
    nodes = []
    for asset in spec.assets:
        key = AssetKey.from_string(asset.key)
        policy = asset.retry_policy or defaults.retry_policy
        try:
            definition = spec.partitions_of(asset)
            partitions = partitions_from_spec(definition.to_dict() if definition else None)
        except KeyError:
            raise DefinitionError(
                f"asset '{key}' uses partitions '{asset.partitions}', which are not defined"
                " in spec.partitionsDefinitions"
            ) from None
        except DefinitionError as error:
            raise DefinitionError(f"asset '{key}': {error}") from None
        nodes.append(
            AssetNode(
                key=key,
                deps=tuple(AssetKey.from_string(dep) for dep in asset.deps),
                group=asset.group,
                tags=dict(asset.tags),
                partitions=partitions,
                checks=tuple(
                    CheckNode(check.name, check.blocking, check.description)
                    for check in asset.checks
                ),
                retry_policy=RetryPolicy(policy.max_retries, policy.delay_seconds, policy.backoff),
                timeout=float(asset.timeout_seconds or defaults.timeout_seconds),
            )
        )
    return AssetGraph(nodes)


def snapshot_from_body(body: Mapping[str, Any]) -> GraphSnapshot:
    """Parses and validates an AssetGraph object. Raises DefinitionError."""
    metadata = body.get("metadata") or {}
    spec: AssetGraphSpec = parse_spec(AssetGraphSpec, _plain(body.get("spec") or {}), "spec")
    graph = graph_from_resource(spec)
    for schedule in spec.schedules:
        # What admission cannot check: a real cron, a known time zone, a selection that
        # names assets of this graph.
        definition = ScheduleDefinition(
            schedule.name, schedule.cron, schedule.selection, schedule.timezone
        )
        try:
            graph.select(definition.selection)
        except DefinitionError as error:
            raise DefinitionError(f"schedule '{schedule.name}': {error}") from None
    return GraphSnapshot(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        uid=str(metadata.get("uid") or ""),
        generation=int(metadata.get("generation") or 0),
        spec=spec,
        graph=graph,
        assets={AssetKey.from_string(a.key): a for a in spec.assets},
    )


def run_partitions(
    graph: AssetGraph, selection: str | None, spec: MaterializationSpec, now: datetime
) -> list[str] | None:
    """The partition keys a run covers: its explicit keys, its range expanded over the
    partitions of the selected assets, or (unset) the latest closed time window."""
    definitions: list[PartitionsDefinition] = []
    for key in graph.select(selection):
        definition = graph.nodes[key].partitions
        if definition is not None and definition not in definitions:
            definitions.append(definition)
    chosen = spec.partitions
    if chosen is not None and chosen.keys is not None:
        return list(chosen.keys)
    if not definitions:
        return None
    if len(definitions) > 1:
        kinds = ", ".join(
            f"'{key}' ({graph.nodes[key].partitions!r})"
            for key in graph.select(selection)
            if graph.nodes[key].partitions is not None
        )
        raise PlanError(
            f"the selection mixes assets partitioned differently: {kinds}; materialize them "
            "in separate runs, or name partition keys that all of them have"
        )
    if chosen is not None and chosen.range is not None:
        return definitions[0].key_range(chosen.range.start, chosen.range.end)
    for definition in definitions:
        if isinstance(definition, TimeWindowPartitionsDefinition):
            latest = definition.last_closed_key(now)
            if latest is None:
                raise PlanError("no partition has closed yet: choose the partitions")
            return [latest]
    return None  # static partitions with no keys chosen: build_plan says what is missing


def plan_run(
    snapshot: GraphSnapshot,
    spec: MaterializationSpec,
    now: datetime,
    infra_retries: int = INFRA_RETRIES,
) -> RunPlan:
    """Plans a Materialization. Raises DefinitionError (selection, partitions, size)."""
    selection = spec.selection
    partitions = run_partitions(snapshot.graph, selection, spec, now)
    max_parallel = spec.max_parallel or snapshot.spec.max_parallel
    return build_plan(
        snapshot.graph, selection, partitions, max_parallel, infra_retries=infra_retries
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
