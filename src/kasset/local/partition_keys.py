"""Turns `--partition` text into the keys of a run, using the partitions of the selected
assets (`2024-01-01`, `2024-01-01..2024-01-07`, `eu,us`)."""

from __future__ import annotations

from kasset.definitions.partitions import DynamicPartitionsDefinition
from kasset.errors import PartitionError
from kasset.graph import AssetGraph

__all__ = ["expand_partitions"]


def expand_partitions(
    graph: AssetGraph, selection: str | None, text: str | None
) -> list[str] | None:
    """The partition keys `text` names, in the order of the first selected partitioned
    asset; None when `text` is None. Keys the other assets lack fail at planning."""
    if text is None:
        return None
    definitions = [graph.nodes[key].partitions for key in graph.select(selection)]
    partitioned = [d for d in definitions if d is not None]
    if not partitioned:
        raise PartitionError("none of the selected assets is partitioned: drop the partition")
    for definition in partitioned:
        if isinstance(definition, DynamicPartitionsDefinition):  # this process holds the keys
            definition.add_keys(k.strip() for k in text.split(",") if k.strip() and ".." not in k)
    keys = partitioned[0].from_ranges(text)
    if not keys:
        raise PartitionError(f"no partition keys in {text!r}")
    return list(dict.fromkeys(keys))
