"""Every partitions kind and mapping, materialized in-process: a downstream partition
receives exactly the mapped upstream partitions (the value when one, a dict when several),
and the context says what was mapped."""

from __future__ import annotations

from typing import Any

import pytest

from kasset import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PartitionKeyRange,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
    materialize,
)
from kasset.runtime.io_managers import InMemoryIOManager

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", end_date="2024-02-01-00:00")
REGIONS = StaticPartitionsDefinition(["eu", "us"])
SITES = StaticPartitionsDefinition(["eu-west", "eu-north", "us-east"])


def _run(
    assets: list[Any], keys: list[str], io: InMemoryIOManager, select: str | None = None
) -> Any:
    result = materialize(assets, partition_keys=keys, io_manager=io, selection=select)
    assert result.success
    return result


@asset(partitions_def=DAILY)
def days(context: AssetExecutionContext) -> str:
    return f"day {context.partition_key}"


def test_a_rolling_window_reads_a_dict_of_the_last_seven_days() -> None:
    seen: dict[str, Any] = {}

    @asset(
        partitions_def=DAILY,
        ins={"days": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-6))},
    )
    def weekly_sum(context: AssetExecutionContext, days: dict[str, str]) -> int:
        seen["value"] = days
        seen["range"] = context.asset_partition_key_range_for_input("days")
        seen["window"] = context.asset_partitions_time_window_for_input("days")
        return len(days)

    io = InMemoryIOManager()
    _run([days], [f"2024-01-{d:02d}" for d in range(1, 11)], io)
    result = _run([days, weekly_sum], ["2024-01-10"], io, select="weekly_sum")
    assert list(seen["value"]) == [f"2024-01-{d:02d}" for d in range(4, 11)]
    assert seen["range"] == PartitionKeyRange("2024-01-04", "2024-01-10")
    assert (seen["window"].start.day, seen["window"].end.day) == (4, 11)
    assert result.output_for("weekly_sum", "2024-01-10") == 7


def test_yesterday_reads_one_value_not_a_dict() -> None:
    @asset(
        partitions_def=DAILY,
        ins={"days": AssetIn(partition_mapping=TimeWindowPartitionMapping(-1, -1))},
    )
    def delta(days: str) -> str:
        return days

    result = _run([days, delta], ["2024-01-05", "2024-01-06"], InMemoryIOManager())
    assert result.output_for("delta", "2024-01-06") == "day 2024-01-05"


def test_a_day_reads_its_24_hours_across_granularities_and_waits_for_them() -> None:
    @asset(partitions_def=HOURLY)
    def hours(context: AssetExecutionContext) -> str:
        return context.partition_key

    @asset(partitions_def=DAILY)
    def day_total(context: AssetExecutionContext, hours: dict[str, str]) -> int:
        assert context.asset_partition_key_range_for_input("hours") == PartitionKeyRange(
            "2024-01-02-00:00", "2024-01-02-23:00"
        )
        return len(hours)

    hours_of_day = [f"2024-01-02-{h:02d}:00" for h in range(24)]
    result = _run([hours, day_total], hours_of_day, InMemoryIOManager())
    assert result.output_for("day_total", "2024-01-02") == 24  # planned from the hours


def test_all_last_specific_and_static_mappings_read_what_they_name() -> None:
    # One mapping per upstream asset (as in Dagster), so four upstreams of the same kind.
    def site_asset(name: str) -> Any:
        @asset(name=name, partitions_def=SITES)
        def site(context: AssetExecutionContext) -> str:
            return context.partition_key

        return site

    sites = [site_asset(n) for n in ("s_all", "s_last", "s_specific", "s_static")]

    @asset(
        partitions_def=REGIONS,
        ins={
            "everything": AssetIn("s_all", partition_mapping=AllPartitionMapping()),
            "newest": AssetIn("s_last", partition_mapping=LastPartitionMapping()),
            "chosen": AssetIn(
                "s_specific", partition_mapping=SpecificPartitionsPartitionMapping(["eu-north"])
            ),
            "mine": AssetIn(
                "s_static",
                partition_mapping=StaticPartitionMapping(
                    {"eu-west": "eu", "eu-north": "eu", "us-east": "us"}
                ),
            ),
        },
    )
    def regional(everything: dict[str, str], newest: str, chosen: str, mine: Any) -> Any:
        return (sorted(everything), newest, chosen, mine)

    io = InMemoryIOManager()
    _run(sites, ["eu-west", "eu-north", "us-east"], io)
    result = _run([*sites, regional], ["eu", "us"], io, select="regional")
    assert result.output_for("regional", "eu") == (
        ["eu-north", "eu-west", "us-east"],
        "us-east",
        "eu-north",
        {"eu-west": "eu-west", "eu-north": "eu-north"},
    )
    assert result.output_for("regional", "us")[3] == "us-east"


MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})


def test_multi_partitions_and_their_mappings_materialize() -> None:
    @asset(partitions_def=MULTI)
    def sales(context: AssetExecutionContext) -> str:
        key = context.partition_key
        assert isinstance(key, str) and key.count("|") == 1
        return key

    @asset(
        partitions_def=MULTI,
        ins={
            "sales": AssetIn(
                partition_mapping=MultiPartitionMapping(
                    {
                        "date": DimensionPartitionMapping(
                            "date", TimeWindowPartitionMapping(-1, -1)
                        ),
                        "region": DimensionPartitionMapping("region", IdentityPartitionMapping()),
                    }
                )
            )
        },
    )
    def sales_before(sales: str) -> str:
        return sales

    @asset(
        partitions_def=DAILY,
        ins={"sales": AssetIn(partition_mapping=MultiToSingleDimensionPartitionMapping("date"))},
    )
    def daily_sales(sales: dict[str, str]) -> list[str]:
        return sorted(sales)

    keys = [
        MultiPartitionKey({"date": d, "region": r})
        for d in ("2024-01-01", "2024-01-02")
        for r in ("eu", "us")
    ]
    io = InMemoryIOManager()
    _run([sales], keys, io)
    result = _run([sales, sales_before], ["2024-01-02|us"], io, select="sales_before")
    assert result.output_for("sales_before", "2024-01-02|us") == "2024-01-01|us"
    result = _run([sales, daily_sales], ["2024-01-02"], io, select="daily_sales")
    assert result.output_for("daily_sales", "2024-01-02") == ["2024-01-02|eu", "2024-01-02|us"]


def test_three_dimensions_compact_into_boxes() -> None:
    cube = MultiPartitionsDefinition(
        {"a": REGIONS, "b": SITES, "c": StaticPartitionsDefinition(["x", "y"])}
    )
    keys = cube.keys()
    assert len(keys) == 12 and cube.to_ranges(keys) == "eu|eu-west|x..us|us-east|y"
    assert cube.from_ranges(cube.to_ranges(keys[:7])) == keys[:7]


def test_weekly_monthly_cron_and_dynamic_partitions_materialize() -> None:
    files = DynamicPartitionsDefinition(name="files")
    kinds = {
        "weekly": (WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1), "2024-01-08"),
        "monthly": (MonthlyPartitionsDefinition(start_date="2024-01-01"), "2024-02-01"),
        "cron": (
            TimeWindowPartitionsDefinition(
                start="2024-01-01-00:00", fmt="%Y-%m-%d-%H:%M", cron_schedule="0 */6 * * *"
            ),
            "2024-01-01-06:00",
        ),
        "dynamic": (files, "report.csv"),
    }
    for name, (definition, key) in kinds.items():

        @asset(name=name, partitions_def=definition)
        def one(context: AssetExecutionContext) -> str:
            return context.partition_key

        result = materialize([one], partition_key=key)
        assert result.output_for(name, key) == key, name
    assert files.keys() == ["report.csv"]


def test_asset_dep_carries_a_partition_mapping_into_the_plan() -> None:
    @asset(
        partitions_def=DAILY,
        deps=[AssetDep("days", partition_mapping=TimeWindowPartitionMapping(-1, 0))],
    )
    def after_two_days() -> None: ...

    from kasset import Definitions
    from kasset.plan import build_plan

    graph = Definitions(assets=[days, after_two_days]).graph
    plan = build_plan(graph, None, ["2024-01-02", "2024-01-03"])
    step = next(s for s in plan.steps.values() if s.key.to_string() == "after_two_days[2024-01-03]")
    assert sorted(u.to_string() for u in step.upstream) == ["days[2024-01-02]", "days[2024-01-03]"]


def test_a_mapping_that_cannot_relate_two_kinds_fails_at_definition() -> None:
    from kasset import Definitions
    from kasset.errors import DefinitionError

    @asset(
        partitions_def=REGIONS,
        ins={"days": AssetIn(partition_mapping=TimeWindowPartitionMapping())},
    )
    def wrong(days: str) -> None: ...

    with pytest.raises(DefinitionError, match="TimeWindowPartitionMapping cannot map them"):
        Definitions(assets=[days, wrong])
