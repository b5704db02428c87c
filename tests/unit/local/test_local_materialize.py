"""`materialize()`: in-process runs, for tests and notebooks, behaving like every executor."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kasset import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    RetryPolicy,
    asset,
    asset_check,
    materialize,
)
from kasset.definitions import StepKey
from kasset.errors import KassetError, SelectionError, UserCodeError
from kasset.plan import StepPhase


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@asset
def doubled(numbers: list[int]) -> list[int]:
    return [n * 2 for n in numbers]


@asset(key_prefix="marts")
def total(doubled: list[int]) -> int:
    return sum(doubled)


def step(text: str) -> StepKey:
    return StepKey.from_string(text)


def test_values_flow_downstream_and_are_returned() -> None:
    result = materialize([numbers, doubled, total])
    assert result.success
    assert result.output_for("doubled") == [2, 4, 6]
    assert result.output_for(total) == 12
    assert result.output_for(AssetKey(["marts", "total"])) == 12
    assert result.output_for("marts/total") == 12
    assert result.failed_steps == []
    assert {s.phase for s in result.step_states.values()} == {StepPhase.SUCCEEDED}


def test_each_step_reports_started_materialized_succeeded() -> None:
    result = materialize([numbers], run_id="run-42")
    assert result.run_id == "run-42"
    assert [e.type for e in result.events] == [
        "STEP_STARTED",
        "ASSET_MATERIALIZED",
        "STEP_SUCCEEDED",
    ]
    assert {(e.run, e.step, e.attempt) for e in result.events} == {("run-42", "numbers", 1)}


def test_a_definitions_object_and_a_selection_are_accepted() -> None:
    defs = Definitions(assets=[numbers, doubled, total])
    result = materialize(defs, selection="numbers+")
    assert sorted(map(str, result.step_states)) == ["doubled", "numbers"]
    with pytest.raises(SelectionError, match="no asset 'nope'"):
        materialize(defs, selection="nope")


def test_materialize_result_metadata_and_context_reach_the_events() -> None:
    @asset
    def described(context: AssetExecutionContext) -> MaterializeResult:
        context.add_output_metadata({"from_context": context.run_id})
        return MaterializeResult(value=7, metadata={"rows": 7})

    result = materialize([described], run_id="r1")
    (event,) = [e for e in result.events if e.type == "ASSET_MATERIALIZED"]
    assert event.payload.metadata["rows"] == 7
    assert event.payload.metadata["from_context"] == "r1"
    assert result.output_for("described") == 7


def test_a_failure_raises_the_users_exception_as_the_cause() -> None:
    @asset
    def broken() -> None:
        raise ValueError("no data today")

    with pytest.raises(UserCodeError) as raised:
        materialize([broken])
    assert isinstance(raised.value.__cause__, ValueError)
    assert str(raised.value.__cause__) == "no data today"


def test_without_raise_on_error_the_failure_is_in_the_result() -> None:
    @asset
    def broken() -> int:
        raise ValueError("no data today")

    @asset
    def after(broken: int) -> int:
        return broken

    result = materialize([numbers, broken, after], raise_on_error=False)
    assert not result.success
    assert result.failed_steps == [step("broken")]
    assert result.step_states[step("after")].phase is StepPhase.SKIPPED
    assert "no data today" in (result.step_states[step("broken")].message or "")
    assert result.output_for("numbers") == [1, 2, 3]
    with pytest.raises(KassetError, match="has no output"):
        result.output_for("after")


def test_a_flaky_asset_succeeds_on_retry_after_the_delay() -> None:
    @asset(retry_policy=RetryPolicy(max_retries=2, delay=0.2))
    def flaky(context: AssetExecutionContext) -> int:
        if context.attempt == 1:
            raise ConnectionError("dropped")
        return context.attempt

    started = time.monotonic()
    result = materialize([flaky])
    assert time.monotonic() - started >= 0.2
    assert result.output_for("flaky") == 2
    assert result.step_states[step("flaky")].attempts == 2
    assert [e.type for e in result.events].count("STEP_FAILED") == 1


def test_a_failed_blocking_check_skips_the_downstream_and_a_warning_does_not() -> None:
    @asset
    def readings() -> list[int]:
        return [1, -1]

    @asset_check(asset=readings, blocking=True)
    def positive(readings: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=min(readings) >= 0)

    @asset
    def published(readings: list[int]) -> list[int]:
        return readings

    result = materialize([readings, positive, published], raise_on_error=False)
    assert not result.success
    assert result.step_states[step("published")].phase is StepPhase.SKIPPED
    checks = [e.payload.check for e in result.events if e.type == "ASSET_CHECK_EVALUATED"]
    assert [(c.name, c.passed) for c in checks if c] == [("positive", False)]

    @asset_check(asset=readings, blocking=False)
    def advisory(readings: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=False)

    assert materialize([readings, advisory, published]).success


def test_resources_are_passed_by_parameter_name() -> None:
    @asset
    def greeting(greeter: Any) -> str:
        return str(greeter("kasset"))

    result = materialize([greeting], resources={"greeter": lambda name: f"hello {name}"})
    assert result.output_for("greeting") == "hello kasset"


def test_a_filesystem_io_manager_stores_values_on_disk(tmp_path: Path) -> None:
    from kasset.runtime.io_managers import FilesystemIOManager

    result = materialize([numbers, doubled], io_manager=FilesystemIOManager(str(tmp_path)))
    assert result.output_for("doubled") == [2, 4, 6]
    assert (tmp_path / "doubled" / "__all__.pkl").is_file()


def test_partitions_are_chosen_by_key_and_fanned_in_downstream() -> None:
    days = DailyPartitionsDefinition(start="2024-01-01", end="2024-01-04")

    @asset(partitions_def=days)
    def visits(context: AssetExecutionContext) -> int:
        return int(context.partition_key[-2:])

    @asset
    def all_visits(visits: dict[str, int]) -> dict[str, int]:
        return visits

    single = materialize([visits], partition_key="2024-01-02")
    assert single.output_for("visits") == 2
    assert single.output_for("visits", "2024-01-02") == 2

    result = materialize(
        [visits, all_visits], partition_keys=["2024-01-01", "2024-01-02", "2024-01-03"]
    )
    assert result.output_for("visits", "2024-01-03") == 3
    with pytest.raises(KassetError, match="is partitioned"):
        result.output_for("visits")
    assert result.output_for("all_visits") == {"2024-01-01": 1, "2024-01-02": 2, "2024-01-03": 3}


def test_max_parallel_runs_independent_steps_at_the_same_time() -> None:
    barrier = threading.Barrier(2, timeout=10)

    @asset
    def left() -> str:
        barrier.wait()  # only returns when `right` runs too
        return "l"

    @asset
    def right() -> str:
        barrier.wait()
        return "r"

    result = materialize([left, right], max_parallel=2)
    assert (result.output_for("left"), result.output_for("right")) == ("l", "r")


def test_an_asset_that_stores_its_own_output_has_none_as_output() -> None:
    @asset
    def written_elsewhere() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 0})

    assert materialize([written_elsewhere]).output_for("written_elsewhere") is None


def test_a_failed_blocking_check_raises_a_kasset_error_naming_it() -> None:
    @asset
    def empty() -> list[int]:
        return []

    @asset_check(asset=empty, blocking=True)
    def has_rows(empty: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=bool(empty))

    with pytest.raises(KassetError, match=r"step 'empty' failed: .*has_rows"):
        materialize([empty, has_rows])


def test_a_value_the_io_manager_did_not_keep_fails_the_step_instead_of_its_downstream() -> None:
    from kasset.runtime.io_managers import InMemoryIOManager, OutputContext

    class Forgetful(InMemoryIOManager):
        """Says it stored the value, keeps nothing (a buggy or racing backend)."""

        def handle_output(self, context: OutputContext, obj: Any) -> None:
            pass

    result = materialize([numbers, doubled], io_manager=Forgetful(), raise_on_error=False)

    step = result.step_states[StepKey(AssetKey("numbers"))]
    assert step.phase is StepPhase.FAILED
    assert "has no value for it afterwards" in (step.message or "")
    assert "asset 'numbers'" in (step.message or "")
    assert result.step_states[StepKey(AssetKey("doubled"))].phase is StepPhase.SKIPPED
