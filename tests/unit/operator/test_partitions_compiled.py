"""Every partitions kind and mapping survives compilation: the operator's graph, built
from the AssetGraph resource alone, plans the same steps and edges as the user's code."""

from __future__ import annotations

from typing import Any

from kasset import (
    AssetDep,
    AssetIn,
    DailyPartitionsDefinition,
    Definitions,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
)
from kasset.compiler import compile_definitions
from kasset.operator.model.graphs import graph_from_resource
from kasset.plan import build_plan
from kasset.resources import AssetGraphResource

HOURLY = HourlyPartitionsDefinition(
    start_date="2024-03-09-00:00", end_date="2024-03-12-00:00", timezone="America/New_York"
)
DAILY = DailyPartitionsDefinition(
    start_date="2024-03-09", end_date="2024-03-12", timezone="America/New_York", hour_offset=0
)
REGIONS = StaticPartitionsDefinition(["eu", "us"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})


def _defs() -> Definitions:
    @asset(partitions_def=HOURLY)
    def hours() -> None: ...

    @asset(
        partitions_def=DAILY,
        ins={"hours": AssetIn(partition_mapping=TimeWindowPartitionMapping(-1, 0))},
    )
    def days(hours: Any) -> None: ...

    @asset(
        partitions_def=MULTI,
        ins={"days": AssetIn(partition_mapping=MultiToSingleDimensionPartitionMapping("date"))},
    )
    def cells(days: Any) -> None: ...

    @asset(
        partitions_def=MULTI,
        ins={
            "cells": AssetIn(
                partition_mapping=MultiPartitionMapping(
                    {"date": DimensionPartitionMapping("date", TimeWindowPartitionMapping(-1, -1))}
                )
            )
        },
    )
    def cells_before(cells: Any) -> None: ...

    @asset(
        partitions_def=REGIONS, deps=[AssetDep("days", partition_mapping=LastPartitionMapping())]
    )
    def regional() -> None: ...

    @asset(
        partitions_def=StaticPartitionsDefinition(["europe", "america"]),
        ins={
            "regional": AssetIn(
                partition_mapping=StaticPartitionMapping({"eu": "europe", "us": "america"})
            )
        },
    )
    def continents(regional: Any) -> None: ...

    @asset(
        partitions_def=REGIONS,
        ins={"days": AssetIn(partition_mapping=SpecificPartitionsPartitionMapping(["2024-03-10"]))},
    )
    def pinned(days: Any) -> None: ...

    @asset(
        partitions_def=WeeklyPartitionsDefinition(
            start_date="2024-01-01", day_offset=3, timezone="Europe/Paris"
        )
    )
    def weeks() -> None: ...

    @asset(
        partitions_def=MonthlyPartitionsDefinition(
            start_date="2024-01-01", day_offset=15, end_offset=1
        )
    )
    def months() -> None: ...

    @asset(
        partitions_def=TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y%m%d", cron_schedule="0 0 * * 1-5"
        )
    )
    def workdays() -> None: ...

    files = DynamicPartitionsDefinition(name="compiled-files")
    files.add_keys(["a.csv", "b.csv"])

    @asset(partitions_def=files)
    def uploads() -> None: ...

    return Definitions(
        assets=[
            hours,
            days,
            cells,
            cells_before,
            regional,
            continents,
            pinned,
            weeks,
            months,
            workdays,
            uploads,
        ]
    )


def _plan_edges(graph: Any, selection: str, keys: list[str]) -> dict[str, list[str]]:
    plan = build_plan(graph, selection, keys)
    return {k.to_string(): sorted(u.to_string() for u in s.upstream) for k, s in plan.steps.items()}


def test_the_compiled_graph_plans_exactly_what_the_code_plans() -> None:
    defs = _defs()
    resource = compile_definitions(defs, image="x:1", module="m")
    reparsed = AssetGraphResource.from_dict(resource.to_dict())
    graph = graph_from_resource(reparsed.spec)
    for node in defs.graph.nodes.values():
        assert graph.nodes[node.key].partitions == node.partitions, node.key
        assert graph.nodes[node.key].partition_mappings.keys() == node.partition_mappings.keys()
    hours = [f"2024-03-10-{h:02d}:00" for h in (0, 1, 3, 4, 23)]  # 02:00 does not exist
    selection = "hours,days,cells,cells_before,regional,continents,pinned"
    ours, theirs = _plan_edges(defs.graph, selection, hours), _plan_edges(graph, selection, hours)
    assert ours == theirs
    assert ours["days[2024-03-10]"] == [f"hours[{h}]" for h in hours]
    assert ours["cells_before[2024-03-11|us]"] == ["cells[2024-03-10|us]"]
    assert ours["continents[america]"] == ["regional[us]"]
    for name, key in [
        ("weeks", "2024-01-03"),
        ("months", "2024-01-15"),
        ("workdays", "20240105"),
        ("uploads", "b.csv"),
    ]:
        assert _plan_edges(graph, name, [key]) == {f"{name}[{key}]": []}
