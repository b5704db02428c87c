"""Which partitions of each selected asset a run (or a backfill of any size) covers.

As Dagster plans a backfill: the partitioned assets with no partitioned parent in the
selection (the roots) get the chosen partitions; every other partitioned asset gets the
partitions its selected parents' partitions feed through their partition mappings. All of
it is position ranges, so a 100,000-partition backfill of a graph costs a few mapping
computations per edge, not a key per partition; `plan.build_plan` expands the ranges of
one Materialization into steps, and a backfill split into many can slice the same ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kasset.definitions.keys import AssetKey
from kasset.definitions.partition_ranges import Ranges, count, normalize, ranges_of
from kasset.errors import PartitionError, PlanError
from kasset.graph import AssetGraph

__all__ = ["backfill_targets", "count_steps"]


def backfill_targets(
    graph: AssetGraph,
    selected: Sequence[AssetKey],
    partitions: Sequence[str] | Ranges | None,
    now: datetime | None = None,
) -> dict[AssetKey, Ranges | None]:
    """Per selected asset (in graph order): the positions of its partitions to run, or
    None when it is unpartitioned. `partitions` are keys (or position ranges) of the
    roots' definition. Raises PlanError on keys a root lacks or no partitions at all."""
    chosen = set(selected)
    targets: dict[AssetKey, Ranges | None] = {}
    for key in graph.sort(selected):
        definition = graph.nodes[key].partitions
        if definition is None:
            targets[key] = None
            continue
        parents = [p for p in graph.parents(key) if p in chosen and targets.get(p) is not None]
        if not parents:
            targets[key] = _root_ranges(key, definition, partitions)
            continue
        mapped: Ranges = []
        for parent in parents:
            mapping = graph.partition_mapping(key, parent)
            upstream = graph.nodes[parent].partitions
            assert mapping is not None and upstream is not None
            try:
                mapped.extend(
                    mapping.downstream_ranges(upstream, targets[parent] or [], definition, now)
                )
            except PartitionError as error:
                raise PlanError(f"asset '{key}', mapping from '{parent}': {error}") from None
        targets[key] = normalize(mapped)
    return targets


def _root_ranges(
    key: AssetKey, definition: object, partitions: Sequence[str] | Ranges | None
) -> Ranges:
    from kasset.definitions.partitions import PartitionsDefinition

    assert isinstance(definition, PartitionsDefinition)
    if not partitions:
        raise PlanError(f"asset '{key}' is partitioned: choose the partitions to materialize")
    if all(isinstance(p, range) for p in partitions):
        return normalize(p for p in partitions if isinstance(p, range))
    try:
        return ranges_of(definition, [definition.validate_key(str(p)) for p in partitions])
    except PartitionError as error:
        raise PlanError(f"asset '{key}': {error}") from None


def count_steps(targets: dict[AssetKey, Ranges | None]) -> int:
    """How many steps the targets make (one per partition, one per unpartitioned asset)."""
    return sum(1 if ranges is None else count(ranges) for ranges in targets.values())
