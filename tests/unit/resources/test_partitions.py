from __future__ import annotations

import pytest
from pydantic import ValidationError

from kasset.resources import PartitionsDefinition, PartitionSelection, PartitionType


def test_daily_partitions_need_a_start() -> None:
    with pytest.raises(ValidationError, match="need start"):
        PartitionsDefinition(type=PartitionType.DAILY)


def test_static_partitions_need_keys() -> None:
    with pytest.raises(ValidationError, match="need keys"):
        PartitionsDefinition(type=PartitionType.STATIC)


def test_static_partitions_take_no_start() -> None:
    with pytest.raises(ValidationError, match="only for time partitions"):
        PartitionsDefinition(type=PartitionType.STATIC, keys=["a"], start="2024-01-01")


def test_time_partitions_take_no_keys() -> None:
    with pytest.raises(ValidationError, match="only for static"):
        PartitionsDefinition(type=PartitionType.HOURLY, start="2024-01-01-00:00", keys=["a"])


@pytest.mark.parametrize("start", ["2024-01-01", "2024-01-01-00:00", "2024-01-01T00:00"])
def test_time_partition_starts_are_dates_or_dates_with_minutes(start: str) -> None:
    assert PartitionsDefinition(type=PartitionType.HOURLY, start=start).timezone == "UTC"


@pytest.mark.parametrize("key", ["a,b", "a..b", "a[1]", "new york", ""])
def test_partition_keys_cannot_contain_range_or_step_separators(key: str) -> None:
    with pytest.raises(ValidationError):
        PartitionsDefinition(type=PartitionType.STATIC, keys=[key])


@pytest.mark.parametrize("key", ["eu", "us-east-1", "2024-01-01-00:00", "v1.2", "a+b"])
def test_ordinary_partition_keys_are_accepted(key: str) -> None:
    PartitionsDefinition(type=PartitionType.STATIC, keys=[key])


def test_a_run_selects_partitions_by_keys_or_by_range() -> None:
    assert PartitionSelection.model_validate({"keys": ["a"]}).keys == ["a"]
    selection = PartitionSelection.model_validate({"range": {"start": "a", "end": "c"}})
    assert selection.range is not None
    assert selection.range.end == "c"


@pytest.mark.parametrize("body", [{}, {"keys": ["a"], "range": {"start": "a", "end": "b"}}])
def test_a_run_selects_partitions_exactly_one_way(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one of keys or range"):
        PartitionSelection.model_validate(body)
