"""Partitions: key order, validation, compact ranges, time zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kasset import DailyPartitionsDefinition, HourlyPartitionsDefinition, StaticPartitionsDefinition
from kasset.definitions.partitions import partitions_from_spec
from kasset.errors import PartitionError

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def test_static_partitions_keep_their_order() -> None:
    regions = StaticPartitionsDefinition(["eu", "us", "apac"])
    assert regions.keys() == ["eu", "us", "apac"]
    assert regions.key_range("eu", "us") == ["eu", "us"]
    with pytest.raises(PartitionError, match="unknown partition key 'mars'"):
        regions.validate_key("mars")


@pytest.mark.parametrize("keys", [[], ["a", "a"], ["has space"], ["-lead"]])
def test_static_partitions_reject_bad_key_lists(keys: list[str]) -> None:
    with pytest.raises(PartitionError):
        StaticPartitionsDefinition(keys)


def test_daily_keys_are_the_closed_days() -> None:
    daily = DailyPartitionsDefinition(start="2024-01-01")
    assert daily.keys(datetime(2024, 1, 3, 12, tzinfo=UTC)) == ["2024-01-01", "2024-01-02"]
    assert daily.last_closed_key(datetime(2024, 1, 3, 1, tzinfo=UTC)) == "2024-01-02"
    assert daily.last_closed_key(datetime(2023, 12, 31, tzinfo=UTC)) is None


def test_daily_end_is_exclusive() -> None:
    week = DailyPartitionsDefinition(start="2024-01-01", end="2024-01-08")
    assert len(week.keys(LATER)) == 7
    with pytest.raises(PartitionError, match="outside the partitions"):
        week.validate_key("2024-01-08")


@pytest.mark.parametrize("bad", ["2023-12-31", "2024-1-02", "2024-01-01T00", "yesterday"])
def test_daily_rejects_keys_outside_or_malformed(bad: str) -> None:
    with pytest.raises(PartitionError):
        DailyPartitionsDefinition(start="2024-01-01").validate_key(bad)


def test_daily_windows_follow_the_calendar_across_dst() -> None:
    daily = DailyPartitionsDefinition(
        start="2024-03-09", end="2024-03-12", timezone="America/New_York"
    )
    assert daily.keys(LATER) == ["2024-03-09", "2024-03-10", "2024-03-11"]
    begin, end = daily.time_window("2024-03-10")  # a 23-hour day
    elapsed = end.astimezone(UTC) - begin.astimezone(UTC)  # same-zone subtraction is wall time
    assert (begin.hour, end.hour, elapsed.total_seconds()) == (0, 0, 23 * 3600)
    assert daily.index_of("2024-03-11") == 2


def test_hourly_skips_the_missing_hour_of_spring_forward() -> None:
    hourly = HourlyPartitionsDefinition(
        start="2024-03-10-00:00", end="2024-03-10-05:00", timezone="America/New_York"
    )
    keys = hourly.keys(LATER)
    assert keys == ["2024-03-10-00:00", "2024-03-10-01:00", "2024-03-10-03:00", "2024-03-10-04:00"]
    assert [hourly.index_of(k) for k in keys] == [0, 1, 2, 3]
    assert hourly.from_ranges(hourly.to_ranges(keys)) == keys


def test_hourly_keys_stay_unique_across_fall_back() -> None:
    hourly = HourlyPartitionsDefinition(
        start="2024-11-03-00:00", end="2024-11-03-04:00", timezone="America/New_York"
    )
    keys = hourly.keys(LATER)
    assert len(set(keys)) == len(keys)


def test_hourly_rejects_a_wall_time_that_does_not_exist() -> None:
    hourly = HourlyPartitionsDefinition(start="2024-03-10-00:00", timezone="America/New_York")
    with pytest.raises(PartitionError):
        hourly.validate_key("2024-03-10-02:00")


def test_ranges_compact_consecutive_keys() -> None:
    daily = DailyPartitionsDefinition(start="2024-01-01")
    keys = ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-05"]
    assert daily.to_ranges(keys) == "2024-01-01..2024-01-03,2024-01-05"
    assert daily.from_ranges("2024-01-01..2024-01-03, 2024-01-05") == sorted(keys)
    assert daily.to_ranges([]) == "" and daily.from_ranges("") == []


def test_a_backwards_range_is_an_error() -> None:
    with pytest.raises(PartitionError, match="is empty"):
        StaticPartitionsDefinition(["a", "b"]).from_ranges("b..a")


@given(st.sets(st.integers(min_value=0, max_value=400)))
def test_daily_ranges_round_trip(indexes: set[int]) -> None:
    daily = DailyPartitionsDefinition(start="2024-01-01", timezone="Europe/Berlin")
    keys = [daily.key_at(i) for i in sorted(indexes)]
    assert daily.from_ranges(daily.to_ranges(keys)) == keys
    assert all(daily.index_of(k) == i for k, i in zip(keys, sorted(indexes), strict=True))


@given(st.sets(st.integers(min_value=0, max_value=24 * 30)))
def test_hourly_utc_ranges_round_trip(indexes: set[int]) -> None:
    hourly = HourlyPartitionsDefinition(start="2024-03-01-00:00")
    keys = [hourly.key_at(i) for i in sorted(indexes)]
    assert hourly.from_ranges(hourly.to_ranges(keys)) == keys


@given(st.lists(st.sampled_from("abcdefgh"), unique=True))
def test_static_ranges_round_trip_in_definition_order(chosen: list[str]) -> None:
    static = StaticPartitionsDefinition(list("abcdefgh"))
    assert static.from_ranges(static.to_ranges(chosen)) == sorted(chosen)


def test_definitions_are_equal_by_spec_and_rebuild_from_it() -> None:
    daily = DailyPartitionsDefinition(start=date(2024, 1, 1), timezone="Europe/Paris")
    assert daily == DailyPartitionsDefinition(start="2024-01-01", timezone="Europe/Paris")
    assert daily != DailyPartitionsDefinition(start="2024-01-01")
    for definition in (
        daily,
        HourlyPartitionsDefinition(start="2024-01-01-00:00"),
        StaticPartitionsDefinition(["x", "y"]),
    ):
        assert partitions_from_spec(definition.spec()) == definition
    assert partitions_from_spec(None) is None
    with pytest.raises(PartitionError, match="unknown partitions type"):
        partitions_from_spec({"type": "yearly"})


def test_unknown_time_zone_and_end_before_start_are_rejected() -> None:
    with pytest.raises(PartitionError, match="unknown time zone"):
        DailyPartitionsDefinition(start="2024-01-01", timezone="Mars/Olympus")
    with pytest.raises(PartitionError, match="is not after start"):
        DailyPartitionsDefinition(start="2024-01-02", end="2024-01-01")
