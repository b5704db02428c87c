"""Planning a 100,000-partition backfill of a 10-asset graph: which partitions of each
asset it covers, kasset (`backfill.backfill_targets`, position ranges) against Dagster's
in-process backfill planning (`AssetBackfillData.from_asset_partitions`, its
AssetGraphSubset). Prints seconds and peak traced memory; goal for kasset: < 2 s.

    bench/.venv/bin/python -m bench.partitions_backfill [--partitions 100000] [--assets 10]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

START = date(1750, 1, 1)


def _measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    began = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20, result


def _noop() -> None: ...


def kasset_graph(partitions: int, assets: int) -> tuple[Any, Any]:
    """A chain of `assets` daily assets, every other edge a (-1, 0) time-window mapping."""
    from kasset import (
        AssetDep,
        DailyPartitionsDefinition,
        Definitions,
        TimeWindowPartitionMapping,
        asset,
    )

    end = START + timedelta(days=partitions)
    daily = DailyPartitionsDefinition(start_date=START.isoformat(), end_date=end.isoformat())
    made = []
    for i in range(assets):
        mapping = TimeWindowPartitionMapping(-1, 0) if i % 2 else None
        deps = [AssetDep(f"a{i - 1}", partition_mapping=mapping)] if i else []
        made.append(asset(name=f"a{i}", partitions_def=daily, deps=deps)(_noop))
    return Definitions(assets=made).graph, daily


def kasset_backfill(partitions: int, assets: int) -> tuple[float, float, int]:
    from kasset.backfill import backfill_targets, count_steps

    graph, daily = kasset_graph(partitions, assets)
    now = datetime(2100, 1, 1, tzinfo=UTC)
    first, last = daily.key_at(0), daily.key_at(partitions - 1)
    ranges = [range(daily.index_of(first), daily.index_of(last) + 1)]
    elapsed, peak, targets = _measure(lambda: backfill_targets(graph, graph.order, ranges, now))
    return elapsed, peak, count_steps(targets)


def kasset_run_plan(partitions: int, assets: int) -> tuple[float, float, int]:
    """One Materialization's steps and edges (the plan a run executes), at its bound."""
    from kasset.plan import build_plan

    graph, daily = kasset_graph(partitions, assets)
    keys = [daily.key_at(i) for i in range(partitions)]
    now = datetime(2100, 1, 1, tzinfo=UTC)
    elapsed, peak, plan = _measure(lambda: build_plan(graph, None, keys, now=now))
    return elapsed, peak, len(plan)


def dagster_backfill(partitions: int, assets: int) -> tuple[float, float, int]:
    warnings.filterwarnings("ignore")
    import dagster as dg
    from dagster._core.execution.asset_backfill import AssetBackfillData

    end = START + timedelta(days=partitions)
    daily = dg.DailyPartitionsDefinition(start_date=START.isoformat(), end_date=end.isoformat())
    specs = []
    for i in range(assets):
        deps = (
            []
            if i == 0
            else [
                dg.AssetDep(
                    f"a{i - 1}",
                    partition_mapping=dg.TimeWindowPartitionMapping(-1, 0) if i % 2 else None,
                )
            ]
        )
        specs.append(dg.AssetSpec(f"a{i}", partitions_def=daily, deps=deps))
    graph = dg.Definitions(assets=specs).resolve_asset_graph()
    keys = daily.get_partition_keys(current_time=datetime(2100, 1, 1, tzinfo=UTC))
    instance = dg.DagsterInstance.ephemeral()

    def plan() -> Any:
        return AssetBackfillData.from_asset_partitions(
            asset_graph=graph,
            partition_names=keys,
            asset_selection=[dg.AssetKey(f"a{i}") for i in range(assets)],
            dynamic_partitions_store=instance,
            backfill_start_timestamp=datetime(2100, 1, 1, tzinfo=UTC).timestamp(),
            all_partitions=False,
        )

    elapsed, peak, data = _measure(plan)
    return elapsed, peak, data.target_subset.num_partitions_and_non_partitioned_assets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partitions", type=int, default=100_000)
    parser.add_argument("--assets", type=int, default=10)
    parser.add_argument("--no-dagster", action="store_true")
    args = parser.parse_args()
    rows = [("kasset", kasset_backfill(args.partitions, args.assets))]
    run_plan = kasset_run_plan(1000, args.assets)
    if not args.no_dagster:
        rows.append(("dagster", dagster_backfill(args.partitions, args.assets)))
    print(f"backfill planning: {args.partitions:,} daily partitions x {args.assets} assets")
    for name, (seconds, mib, steps) in rows:
        print(f"  {name:8s} {seconds:8.3f} s  peak {mib:8.1f} MiB  {steps:,} asset-partitions")
    seconds, mib, count = run_plan
    print(f"one run's step plan (1,000 partitions x {args.assets} assets, edges through mappings):")
    print(f"  kasset   {seconds:8.3f} s  peak {mib:8.1f} MiB  {count:,} steps")


if __name__ == "__main__":
    main()
