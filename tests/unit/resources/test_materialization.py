from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from kasset.naming import step_pod_name
from kasset.resources import (
    MAX_STEP_DETAILS,
    MAX_STEPS,
    AssetRunSummary,
    MaterializationResource,
    MaterializationSpec,
    MaterializationStatus,
    ObjectMeta,
    RunPhase,
    StepCheck,
    StepCounts,
    StepPhase,
    StepStatus,
)

from .examples import MATERIALIZATION, copy

ONE_MIB = 1024 * 1024
START = datetime(2024, 2, 1, tzinfo=UTC)


def test_an_example_run_round_trips_unchanged() -> None:
    run = MaterializationResource.from_dict(MATERIALIZATION)
    assert MaterializationResource.from_dict(run.to_dict()) == run
    assert run.status is not None
    assert run.status.phase is RunPhase.RUNNING
    assert run.status.steps[1].checks == [StepCheck(name="has_rows", passed=False)]


def test_a_new_run_selects_everything_and_is_pending() -> None:
    run = MaterializationResource(
        metadata=ObjectMeta(name="r"), spec=MaterializationSpec(graph="g")
    )
    assert run.spec.selection == "*"
    assert run.spec.cancel is False
    assert MaterializationStatus().phase is RunPhase.PENDING


def test_the_pod_of_a_step_is_derived_not_stored() -> None:
    run = MaterializationResource.from_dict(MATERIALIZATION)
    assert run.status is not None
    step = run.status.steps[0]
    assert "pod" not in step.to_dict()
    assert step_pod_name("backfill-january", step.key, step.attempts).startswith(
        "backfill-january-raw-orders-2024-01-30-1-"
    )


@pytest.mark.parametrize("key", ["raw/orders", "raw/orders[2024-01-01]", "a[eu.west]"])
def test_step_keys_are_asset_keys_with_an_optional_partition(key: str) -> None:
    StepStatus(key=key, phase=StepPhase.RUNNING)


@pytest.mark.parametrize("key", ["raw/orders[]", "raw/orders[a,b]", "raw/orders[a]x"])
def test_malformed_step_keys_are_rejected(key: str) -> None:
    with pytest.raises(ValidationError):
        StepStatus(key=key, phase=StepPhase.RUNNING)


def test_the_graph_name_is_a_kubernetes_name() -> None:
    body = copy(MATERIALIZATION)
    body["spec"]["graph"] = "My_Graph"
    with pytest.raises(ValidationError):
        MaterializationResource.from_dict(body)


def _days(count: int) -> list[str]:
    first = date(2020, 1, 1)
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def _fragmented(keys: list[str]) -> tuple[str, str]:
    """Worst realistic ranges: every third partition failed, so no range is long."""
    succeeded, failed = [], []
    for n in range(0, len(keys), 3):
        succeeded.append(f"{keys[n]}..{keys[n + 1]}" if n + 1 < len(keys) else keys[n])
        if n + 2 < len(keys):
            failed.append(keys[n + 2])
    return ",".join(succeeded), ",".join(failed)


def _status_at_the_step_bound() -> MaterializationStatus:
    """5,000 unpartitioned assets + 10 assets x 500 partitions = 10,000 steps, the most
    details allowed, each for a failed step with a message, metadata and a check."""
    summaries = [
        AssetRunSummary(asset=f"analytics/orders_rollup_{n:04d}", phase=StepPhase.SUCCEEDED)
        for n in range(5000)
    ]
    days = _days(500)
    succeeded, failed = _fragmented(days)
    summaries += [
        AssetRunSummary(
            asset=f"analytics/partitioned_{n:02d}",
            phase=StepPhase.FAILED,
            succeeded=succeeded,
            failed=failed,
        )
        for n in range(10)
    ]
    details = [
        StepStatus(
            key=f"analytics/partitioned_{n % 10:02d}[{days[n // 10 * 3 + 2]}]",
            phase=StepPhase.FAILED,
            attempts=3,
            start_time=START,
            end_time=START + timedelta(seconds=95.25),
            message="ValueError: " + "the upstream file had no rows for this day " * 5,
            metadata={"rows": "0", "duration": "95.2s"},
            checks=[StepCheck(name="has_rows", passed=False)],
        )
        for n in range(MAX_STEP_DETAILS)
    ]
    return MaterializationStatus(
        phase=RunPhase.FAILED,
        start_time=START,
        completion_time=START + timedelta(hours=3),
        message="1,670 steps failed",
        counts=StepCounts(total=MAX_STEPS, succeeded=8330, failed=1670),
        assets=summaries,
        steps=details,
        omitted_steps=670,
    )


def test_a_status_at_the_step_bound_serialises_under_1_mib() -> None:
    run = MaterializationResource(
        metadata=ObjectMeta(name="nightly-202402010200-1a2b3c4d"),
        spec=MaterializationSpec(graph="analytics"),
        status=_status_at_the_step_bound(),
    )
    assert run.status is not None
    assert len(run.status.steps) == MAX_STEP_DETAILS
    size = len(json.dumps(run.to_dict(), separators=(",", ":")))
    assert size < ONE_MIB, size


def test_one_asset_with_10000_alternating_partitions_serialises_under_1_mib() -> None:
    keys = [f"2024-01-01-{h:05d}" for h in range(MAX_STEPS)]
    status = MaterializationStatus(
        counts=StepCounts(total=MAX_STEPS),
        assets=[
            AssetRunSummary(
                asset="raw/events",
                phase=StepPhase.FAILED,
                succeeded=",".join(keys[0::2]),
                failed=",".join(keys[1::2]),
            )
        ],
    )
    size = len(json.dumps(status.to_dict(), separators=(",", ":")))
    assert size < ONE_MIB, size


def test_more_step_details_than_the_bound_are_rejected() -> None:
    steps = [
        StepStatus(key=f"a[{n}]", phase=StepPhase.RUNNING) for n in range(MAX_STEP_DETAILS + 1)
    ]
    with pytest.raises(ValidationError):
        MaterializationStatus(steps=steps)
