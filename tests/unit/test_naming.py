from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kasset.naming import (
    MAX_NAME_LENGTH,
    asset_object_name,
    is_dns1123_label,
    is_label_value,
    label_value,
    schedule_run_name,
    step_pod_name,
)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HASH_SUFFIX = re.compile(r"-[0-9a-f]{8}$")
TICK = datetime(2024, 1, 2, 2, 0, tzinfo=UTC)

run_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
asset_keys = st.from_regex(
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}){0,5}", fullmatch=True
)
step_keys = st.builds(
    lambda key, partition: f"{key}[{partition}]" if partition else key,
    asset_keys,
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_:+@-]{1,40}", fullmatch=True)),
)


def test_names_keep_a_readable_prefix_and_end_in_a_hash() -> None:
    name = asset_object_name("demo", "raw/Orders")
    assert name.startswith("demo-raw-orders-")
    assert HASH_SUFFIX.search(name)


def test_pod_names_show_the_attempt_before_the_hash() -> None:
    assert re.fullmatch(
        r"nightly-raw-orders-2024-01-01-3-[0-9a-f]{8}",
        step_pod_name("nightly", "raw/orders[2024-01-01]", 3),
    )


def test_long_inputs_are_trimmed_to_63_characters_keeping_the_attempt() -> None:
    name = step_pod_name("r" * 63, "warehouse/" + "x" * 300 + "[2024-01-01]", 12)
    assert len(name) == MAX_NAME_LENGTH
    assert re.search(r"-12-[0-9a-f]{8}$", name)
    assert is_dns1123_label(name)


def test_sanitising_folds_are_told_apart_by_the_hash() -> None:
    assert asset_object_name("demo", "raw/orders") != asset_object_name("demo", "raw_orders")
    assert asset_object_name("a-b", "c") != asset_object_name("a", "b-c")
    assert step_pod_name("r", "a", 1) != step_pod_name("r", "a", 11)


def test_long_names_differing_only_past_the_cut_stay_distinct() -> None:
    first = step_pod_name("run", "a/" + "x" * 100 + "1", 1)
    second = step_pod_name("run", "a/" + "x" * 100 + "2", 1)
    assert first[:-8] == second[:-8]
    assert first != second


def test_schedule_run_names_carry_the_utc_minute_of_the_tick() -> None:
    assert re.fullmatch(
        r"demo-daily-202401020200-[0-9a-f]{8}", schedule_run_name("demo", "daily", TICK)
    )


def test_the_same_instant_in_another_timezone_gives_the_same_run_name() -> None:
    paris = TICK.astimezone(timezone(timedelta(hours=1)))
    assert schedule_run_name("demo", "daily", paris) == schedule_run_name("demo", "daily", TICK)


def test_schedule_ticks_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        schedule_run_name("demo", "daily", datetime(2024, 1, 2))


def test_attempts_are_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        step_pod_name("r", "a", 0)


def test_valid_label_values_are_used_as_they_are() -> None:
    assert label_value("demo") == "demo"
    assert label_value("Raw_Orders.v2") == "Raw_Orders.v2"
    assert label_value("") == ""


def test_invalid_label_values_are_derived() -> None:
    value = label_value("raw/orders")
    assert value.startswith("raw-orders-")
    assert is_label_value(value)
    assert is_label_value(label_value("x" * 200))


def test_names_are_deterministic() -> None:
    assert asset_object_name("g", "a/b") == asset_object_name("g", "a/b")
    assert step_pod_name("r", "a[1]", 2) == step_pod_name("r", "a[1]", 2)


@given(run_names, step_keys, st.integers(min_value=1, max_value=101))
def test_pod_names_are_always_dns1123_labels(run: str, step: str, attempt: int) -> None:
    name = step_pod_name(run, step, attempt)
    assert len(name) <= MAX_NAME_LENGTH
    assert DNS1123_LABEL.fullmatch(name)


@given(run_names, asset_keys)
def test_asset_object_names_are_always_dns1123_labels(graph: str, key: str) -> None:
    assert DNS1123_LABEL.fullmatch(asset_object_name(graph, key))


@given(st.text(max_size=300))
def test_label_values_are_always_valid(text: str) -> None:
    assert is_label_value(label_value(text))


@given(run_names, st.lists(step_keys, min_size=2, max_size=2, unique=True))
def test_distinct_steps_get_distinct_pods(run: str, steps: list[str]) -> None:
    assert step_pod_name(run, steps[0], 1) != step_pod_name(run, steps[1], 1)
