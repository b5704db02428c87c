"""Pure builders for what the UI launches: run names, partition choices, the
Materialization of a launch, and the selection of a re-run of failed steps.

Both backends use them, so a run launched from the UI looks the same in dev and on the
cluster; the kube backend only sends what these return.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from kasset.definitions.keys import StepKey
from kasset.definitions.partitions import RANGE_SEPARATOR, PartitionsDefinition
from kasset.errors import KassetError
from kasset.graph import AssetGraph
from kasset.resources import (
    MaterializationResource,
    PartitionRange,
    PartitionSelection,
    StepPhase,
    materialization_body,
)
from kasset.ui.backend import InvalidRequestError

__all__ = [
    "build_materialization",
    "new_run_name",
    "partition_keys",
    "partition_selection",
    "rerun_request",
]

_RERUN_PHASES = (StepPhase.FAILED, StepPhase.SKIPPED, StepPhase.CANCELED)


def new_run_name(graph: str, now: datetime | None = None, suffix: str | None = None) -> str:
    """`<graph>-ui-20240102-030405-1a2b`: sortable, unique, at most 63 characters.

    >>> new_run_name("demo", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "1a2b")
    'demo-ui-20240102-030405-1a2b'
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    tail = f"-ui-{stamp}-{suffix or secrets.token_hex(2)}"
    return f"{graph[: 63 - len(tail)].rstrip('-.')}{tail}"


def partition_selection(text: str | None) -> PartitionSelection | None:
    """What the partition picker typed: `KEY`, `A..B` or `k1,k2`; empty means none.

    >>> partition_selection("2024-01-01..2024-01-07").range.end
    '2024-01-07'
    """
    if text is None or not text.strip():
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        if len(items) == 1 and RANGE_SEPARATOR in items[0]:
            start, _, end = items[0].partition(RANGE_SEPARATOR)
            return PartitionSelection(range=PartitionRange(start=start.strip(), end=end.strip()))
        if any(RANGE_SEPARATOR in item for item in items):
            raise InvalidRequestError("give one range A..B, or a list of keys, not both")
        return PartitionSelection(keys=list(dict.fromkeys(items)))
    except ValueError as error:
        raise InvalidRequestError(f"invalid partitions {text!r}: {_first_error(error)}") from None


def partition_keys(
    graph: AssetGraph, selection: str, partitions: PartitionSelection | None
) -> list[str] | None:
    """The keys a partition choice names, ordered by the first selected partitioned
    asset (the same rule as `kasset materialize --partition`)."""
    if partitions is None:
        return None
    try:
        selected = graph.select(selection)
        definitions = [graph.nodes[key].partitions for key in selected]
        partitioned = [d for d in definitions if d is not None]
        if not partitioned:
            raise InvalidRequestError(
                "none of the selected assets is partitioned: leave the partitions empty"
            )
        if partitions.range is not None:
            return partitioned[0].key_range(partitions.range.start, partitions.range.end)
        return [partitioned[0].validate_key(key) for key in partitions.keys or []]
    except InvalidRequestError:
        raise
    except KassetError as error:
        raise InvalidRequestError(str(error)) from None


def build_materialization(
    *,
    name: str,
    namespace: str,
    graph: str,
    selection: str,
    partitions: PartitionSelection | None,
    launched_by: str,
    now: datetime | None = None,
) -> MaterializationResource:
    """The Materialization object a launch creates (`resources.materialization_body`)."""
    body = materialization_body(
        graph,
        launched_by=launched_by,
        selection=selection,
        partitions=partitions.to_dict() if partitions is not None else None,
        name=name,
        namespace=namespace,
        labels={"kasset.io/graph": graph},
    )
    run = MaterializationResource.from_dict(body)
    return run.model_copy(
        update={"metadata": run.metadata.model_copy(update={"creation_timestamp": now})}
    )


def rerun_request(
    run: MaterializationResource, graph: AssetGraph
) -> tuple[str, PartitionSelection | None]:
    """The selection and partitions that re-run the steps of `run` that failed, and
    those skipped or canceled because of them (Dagster's "re-execute from failure").

    Partitioned assets get the union of their failed partitions: a few extra partitions
    may run again, none is missed.
    """
    status = run.status
    if status is None:
        raise InvalidRequestError(f"run {run.metadata.name} has not started")
    assets: dict[str, None] = {}
    partition_keys_: dict[str, None] = {}
    for summary in status.assets:
        if summary.phase in _RERUN_PHASES:
            assets[summary.asset] = None
        definition = _definition(graph, summary.asset)
        for text in (summary.failed, summary.skipped, summary.canceled):
            if text:
                assets[summary.asset] = None
                if definition is not None:
                    try:
                        partition_keys_.update(dict.fromkeys(definition.from_ranges(text)))
                    except KassetError:
                        continue
    for step in status.steps:
        if step.phase in _RERUN_PHASES:
            key = StepKey.from_string(step.key)
            assets[key.asset.to_string()] = None
            if key.partition is not None:
                partition_keys_[key.partition] = None
    if not assets:
        raise InvalidRequestError(f"run {run.metadata.name} has no failed steps to re-run")
    ordered = [k.to_string() for k in graph.sort(graph.resolve_key(a) for a in assets)]
    chosen = PartitionSelection(keys=list(partition_keys_)) if partition_keys_ else None
    return ",".join(ordered), chosen


def _definition(graph: AssetGraph, asset: str) -> PartitionsDefinition | None:
    try:
        return graph.nodes[graph.resolve_key(asset)].partitions
    except KassetError:
        return None


def _first_error(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        details = errors()
        if details:
            return str(details[0].get("msg", error))
    return str(error)
