"""A week of daily partitions: each day's page views are materialized on their own, and
an unpartitioned report fans them in (it receives `{partition key: value}`)."""

from __future__ import annotations

from datetime import date

from kasset import AssetExecutionContext, DailyPartitionsDefinition, asset

PAGES = ("home", "pricing", "docs")

daily = DailyPartitionsDefinition(start="2024-01-01", end="2024-01-08")


@asset(partitions_def=daily, group="web")
def page_views(context: AssetExecutionContext) -> dict[str, int]:
    """Views per page on one day (synthetic and deterministic: day-of-month x page weight)."""
    day = date.fromisoformat(context.partition_key)
    return {page: day.day * (10**weight) for weight, page in enumerate(PAGES)}


@asset(partitions_def=daily, group="web")
def daily_total(page_views: dict[str, int]) -> int:
    """All views of the day."""
    return sum(page_views.values())


@asset(group="reports")
def weekly_report(daily_total: dict[str, int]) -> dict[str, object]:
    """The week at a glance, from every day's total."""
    busiest = max(daily_total, key=daily_total.__getitem__)
    return {"days": len(daily_total), "views": sum(daily_total.values()), "busiest_day": busiest}
