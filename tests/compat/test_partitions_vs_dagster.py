"""kasset's partitions and mappings, side by side with Dagster 1.13 on the same inputs:
the key lists, the windows and the mapped keys must be identical.

Dagster lives only in bench/.venv (`hack/bench-env`): `make test` runs this directory
with that interpreter (`bench/.venv/bin/python -m pytest tests/compat`), never with the
project's venv.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pytest

import kasset
from kasset.definitions import partition_mappings as km
from kasset.definitions.multi_partitions import MultiPartitionsDefinition as KMulti
from kasset.definitions.partitions import (
    MonthlyPartitionsDefinition as KMonthly,
)
from kasset.definitions.partitions import (
    TimeWindowPartitionsDefinition as KTimeWindow,
)
from kasset.definitions.partitions import (
    WeeklyPartitionsDefinition as KWeekly,
)

warnings.filterwarnings("ignore")

NOW = datetime(2024, 12, 20, 15, 30, tzinfo=UTC)
Pair = tuple[Any, Any]


def _both(name: str, *args: Any, **kwargs: Any) -> Pair:
    ours = {
        "MonthlyPartitionsDefinition": KMonthly,
        "WeeklyPartitionsDefinition": KWeekly,
        "TimeWindowPartitionsDefinition": KTimeWindow,
    }.get(name) or getattr(kasset, name)
    return ours(*args, **kwargs), getattr(dg, name)(*args, **kwargs)


DEFINITIONS: dict[str, Callable[[], Pair]] = {
    "daily": lambda: _both("DailyPartitionsDefinition", start_date="2024-01-01"),
    "daily_end": lambda: _both(
        "DailyPartitionsDefinition", start_date="2024-01-01", end_date="2024-03-01"
    ),
    "daily_offsets_paris": lambda: _both(
        "DailyPartitionsDefinition",
        start_date="2024-03-01",
        end_date="2024-04-05",
        hour_offset=6,
        minute_offset=15,
        timezone="Europe/Paris",
    ),
    "daily_new_york_dst": lambda: _both(
        "DailyPartitionsDefinition",
        start_date="2024-03-05",
        end_date="2024-11-10",
        timezone="America/New_York",
    ),
    "daily_fmt": lambda: _both(
        "DailyPartitionsDefinition", start_date="20240101", end_date="20240201", fmt="%Y%m%d"
    ),
    "daily_end_offset": lambda: _both(
        "DailyPartitionsDefinition", start_date="2024-12-01", end_offset=2
    ),
    "daily_negative_end_offset": lambda: _both(
        "DailyPartitionsDefinition", start_date="2024-12-01", end_offset=-3
    ),
    "hourly_fall_back": lambda: _both(
        "HourlyPartitionsDefinition",
        start_date="2024-11-02-20:00",
        end_date="2024-11-03-08:00",
        timezone="America/New_York",
    ),
    "hourly_spring_forward": lambda: _both(
        "HourlyPartitionsDefinition",
        start_date="2024-03-09-20:00",
        end_date="2024-03-10-08:00",
        timezone="America/Chicago",
    ),
    "hourly_minute_offset_berlin": lambda: _both(
        "HourlyPartitionsDefinition",
        start_date="2024-10-26-00:00",
        end_date="2024-10-28-00:00",
        minute_offset=30,
        timezone="Europe/Berlin",
    ),
    "hourly_recent_end_offset": lambda: _both(
        "HourlyPartitionsDefinition", start_date="2024-12-19-00:00", end_offset=1
    ),
    "weekly": lambda: _both("WeeklyPartitionsDefinition", start_date="2024-01-01"),
    "weekly_monday_la_dst": lambda: _both(
        "WeeklyPartitionsDefinition",
        start_date="2024-02-01",
        end_date="2024-12-01",
        day_offset=1,
        hour_offset=3,
        timezone="America/Los_Angeles",
    ),
    "monthly": lambda: _both("MonthlyPartitionsDefinition", start_date="2022-01-01"),
    "monthly_day_offset": lambda: _both(
        "MonthlyPartitionsDefinition",
        start_date="2023-01-10",
        day_offset=5,
        hour_offset=2,
        timezone="Asia/Tokyo",
    ),
    "cron_every_6_hours": lambda: _both(
        "TimeWindowPartitionsDefinition",
        start="2024-03-08-00:00",
        fmt="%Y-%m-%d-%H:%M",
        cron_schedule="0 */6 * * *",
        end="2024-03-12-00:00",
        timezone="America/New_York",
    ),
    "cron_weekdays": lambda: _both(
        "TimeWindowPartitionsDefinition",
        start="2024-01-01",
        fmt="%Y-%m-%d",
        cron_schedule="0 0 * * 1-5",
        end="2024-03-01",
    ),
    "static": lambda: _both("StaticPartitionsDefinition", ["eu", "us", "apac"]),
}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_keys_are_dagsters(name: str) -> None:
    ours, theirs = DEFINITIONS[name]()
    assert ours.keys(NOW) == theirs.get_partition_keys(current_time=NOW)


@pytest.mark.parametrize("name", sorted(n for n in DEFINITIONS if n != "static"))
def test_time_windows_are_dagsters(name: str) -> None:
    ours, theirs = DEFINITIONS[name]()
    keys = ours.keys(NOW)
    for key in keys[:3] + keys[len(keys) // 2 : len(keys) // 2 + 3] + keys[-3:]:
        window, expected = ours.time_window(key), theirs.time_window_for_partition_key(key)
        assert (window.start.timestamp(), window.end.timestamp()) == (
            expected.start.timestamp(),
            expected.end.timestamp(),
        ), key


def test_multi_partition_keys_are_dagsters() -> None:
    dims = {
        "date": lambda m: m.DailyPartitionsDefinition(
            start_date="2024-01-01", end_date="2024-01-20"
        ),
        "region": lambda m: m.StaticPartitionsDefinition(["eu", "us", "apac"]),
    }
    ours = KMulti({k: f(kasset) for k, f in dims.items()})
    theirs = dg.MultiPartitionsDefinition({k: f(dg) for k, f in dims.items()})
    assert ours.keys(NOW) == theirs.get_partition_keys(current_time=NOW)
    key = ours.keys(NOW)[5]
    assert key.keys_by_dimension == dg.MultiPartitionKey(key.keys_by_dimension).keys_by_dimension
    assert str(key) == str(dg.MultiPartitionKey(key.keys_by_dimension))


# Mappings: (name, mapping factory, upstream definition, downstream definition).


def _daily(m: Any, **kw: Any) -> Any:
    return m.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01", **kw)


def _hourly(m: Any, **kw: Any) -> Any:
    return m.HourlyPartitionsDefinition(
        start_date="2024-01-01-00:00", end_date="2024-03-01-00:00", **kw
    )


def _static(m: Any) -> Any:
    return m.StaticPartitionsDefinition(["eu-west", "eu-north", "us-east", "us-west"])


def _regions(m: Any) -> Any:
    return m.StaticPartitionsDefinition(["eu", "us"])


def _multi(m: Any) -> Any:
    return m.MultiPartitionsDefinition({"date": _daily(m), "region": _regions(m)})


MAPPINGS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "identity": (lambda m: m.IdentityPartitionMapping(), _daily, _daily),
    "time_window_same": (lambda m: m.TimeWindowPartitionMapping(), _daily, _daily),
    "rolling_7_days": (lambda m: m.TimeWindowPartitionMapping(start_offset=-6), _daily, _daily),
    "yesterday": (lambda m: m.TimeWindowPartitionMapping(-1, -1), _daily, _daily),
    "hourly_to_daily": (lambda m: m.TimeWindowPartitionMapping(), _hourly, _daily),
    "hourly_to_daily_offset": (lambda m: m.TimeWindowPartitionMapping(-1, 0), _hourly, _daily),
    "daily_to_hourly": (lambda m: m.TimeWindowPartitionMapping(), _daily, _hourly),
    "daily_to_hourly_offset": (lambda m: m.TimeWindowPartitionMapping(-2, 1), _daily, _hourly),
    "hourly_ny_to_daily_ny_dst": (
        lambda m: m.TimeWindowPartitionMapping(),
        lambda m: _hourly(m, timezone="America/New_York"),
        lambda m: _daily(m, timezone="America/New_York"),
    ),
    "daily_to_weekly": (
        lambda m: m.TimeWindowPartitionMapping(),
        _daily,
        lambda m: m.WeeklyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01"),
    ),
    "all": (lambda m: m.AllPartitionMapping(), _static, _daily),
    "last": (lambda m: m.LastPartitionMapping(), _daily, _regions),
    "specific": (
        lambda m: m.SpecificPartitionsPartitionMapping(["eu-north", "us-west"]),
        _static,
        _daily,
    ),
    "static": (
        lambda m: m.StaticPartitionMapping(
            {"eu-west": "eu", "eu-north": "eu", "us-east": "us", "us-west": "us"}
        ),
        _static,
        _regions,
    ),
    "multi_to_single_down_multi": (
        lambda m: m.MultiToSingleDimensionPartitionMapping("date"),
        _daily,
        _multi,
    ),
    "multi_to_single_up_multi": (
        lambda m: m.MultiToSingleDimensionPartitionMapping("date"),
        _multi,
        _daily,
    ),
    "multi_mapping": (
        lambda m: m.MultiPartitionMapping(
            {
                "date": m.DimensionPartitionMapping("date", m.TimeWindowPartitionMapping(-1, -1)),
                "region": m.DimensionPartitionMapping("region", m.IdentityPartitionMapping()),
            }
        ),
        _multi,
        _multi,
    ),
}


def _samples(keys: list[str]) -> list[list[str]]:
    middle = len(keys) // 2
    return [keys[:1], keys[middle : middle + 1], keys[-1:], keys[middle : middle + 5]]


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_mapped_upstream_keys_are_dagsters(name: str) -> None:
    mapping, upstream, downstream = MAPPINGS[name]
    ours, theirs = mapping(km), mapping(dg)
    up_k, down_k = _kasset_defs(upstream), _kasset_defs(downstream)
    up_d, down_d = upstream(dg), downstream(dg)
    for keys in _samples(down_k.keys(NOW)):
        result = theirs.get_upstream_mapped_partitions_result_for_partitions(
            down_d.subset_with_partition_keys(keys), down_d, up_d, current_time=NOW
        )
        expected = sorted(result.partitions_subset.get_partition_keys())
        assert sorted(ours.upstream_keys(down_k, keys, up_k, NOW)) == expected, keys


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_mapped_downstream_keys_are_dagsters(name: str) -> None:
    mapping, upstream, downstream = MAPPINGS[name]
    ours, theirs = mapping(km), mapping(dg)
    up_k, down_k = _kasset_defs(upstream), _kasset_defs(downstream)
    up_d, down_d = upstream(dg), downstream(dg)
    for keys in _samples(up_k.keys(NOW)):
        result = theirs.get_downstream_partitions_for_partitions(
            up_d.subset_with_partition_keys(keys), up_d, down_d, current_time=NOW
        )
        expected = sorted(result.get_partition_keys())
        assert sorted(ours.downstream_keys(up_k, keys, down_k, NOW)) == expected, keys


class _KassetNames:
    """kasset's public names plus the few kinds the top-level API does not re-export."""

    def __getattr__(self, name: str) -> Any:
        if name == "MultiPartitionsDefinition":
            return KMulti
        if name == "WeeklyPartitionsDefinition":
            return KWeekly
        return getattr(kasset, name)


def _kasset_defs(factory: Callable[[Any], Any]) -> Any:
    return factory(_KassetNames())
