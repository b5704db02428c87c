"""The progress display and the summary table of the local executor."""

from __future__ import annotations

import io

import pytest

from kasset import AssetKey, RetryPolicy, StaticPartitionsDefinition
from kasset.definitions import StepKey
from kasset.errors import PartitionError
from kasset.graph import AssetGraph, AssetNode
from kasset.local.partition_keys import expand_partitions
from kasset.local.progress import ProgressDisplay, format_summary
from kasset.plan import RunState, StepFailed, StepSucceeded, Tick, advance, build_plan


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_with_a_failure(display: ProgressDisplay) -> RunState:
    graph = AssetGraph(
        [
            AssetNode(AssetKey("a"), retry_policy=RetryPolicy(max_retries=1, delay=2)),
            AssetNode(AssetKey("b"), (AssetKey("a"),)),
            AssetNode(AssetKey("c"), (AssetKey("b"),)),
        ]
    )
    state = RunState(build_plan(graph))
    a = StepKey(AssetKey("a"))
    for event, now in [
        (None, 0.0),
        (StepFailed(a, 1, "boom"), 1.0),
        (Tick(), 3.0),
        (StepFailed(a, 2, "boom again", retryable=True), 4.5),
    ]:
        display.update(state, event, advance(state, event, now), now)
    display.close()
    return state


def test_plain_output_has_one_timestamped_line_per_transition() -> None:
    out = io.StringIO()
    state = run_with_a_failure(ProgressDisplay(out, tty=False))
    assert out.getvalue().splitlines() == [
        "[   0.00s] started a (attempt 1)",
        "[   1.00s] failed a (attempt 1) in 1.00s: boom; retrying in 2s",
        "[   3.00s] started a (attempt 2)",
        "[   4.50s] FAILED a in 1.50s: boom again",
        "[   4.50s] skipped b, c (upstream a failed)",
    ]
    assert state.phase.value == "Failed"


def test_terminal_output_redraws_one_status_line() -> None:
    out = FakeTty()
    display = ProgressDisplay(out)
    assert display.tty and display.refresh_interval == 0.5
    run_with_a_failure(display)
    text = out.getvalue()
    assert "started" not in text  # launches show in the status line only
    assert "\r\x1b[K" in text
    assert "0/3 succeeded  running: a" in text
    assert text.endswith("skipped b, c (upstream a failed)\n")  # no status left behind
    assert "FAILED a in 1.50s: boom again\n" in text


def test_summary_table_lists_every_step() -> None:
    state = run_with_a_failure(ProgressDisplay(io.StringIO(), tty=False))
    lines = format_summary(state, "run-7", 4.5).splitlines()
    assert lines[0].split() == ["STEP", "PHASE", "ATTEMPTS", "DURATION", "MESSAGE"]
    assert lines[1].split()[:5] == ["a", "Failed", "2", "1.50s", "boom"]
    assert lines[2].split()[:4] == ["b", "Skipped", "0", "-"]
    assert lines[-1] == "run run-7 Failed in 4.50s: 1 step(s) failed: a: boom again"


def test_a_long_summary_shows_only_the_steps_that_did_not_succeed() -> None:
    graph = AssetGraph([AssetNode(AssetKey(f"s{i:03d}")) for i in range(100)])
    state = RunState(build_plan(graph, max_parallel=100))
    for action in advance(state, None, 0):
        step = getattr(action, "step", None)
        if step is not None:
            event = (
                StepFailed(step, 1, "x", False)
                if step.asset.name == "s050"
                else StepSucceeded(step, 1)
            )
            advance(state, event, 1)
    lines = format_summary(state, "big", 1).splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("s050")
    assert lines[2] == "... and 99 more step(s) not shown (succeeded or over the limit)"


def test_partition_text_expands_with_the_selected_assets_partitions() -> None:
    regions = StaticPartitionsDefinition(["eu", "us", "apac"])
    graph = AssetGraph(
        [
            AssetNode(AssetKey("config")),
            AssetNode(AssetKey("sales"), (AssetKey("config"),), partitions=regions),
        ]
    )
    assert expand_partitions(graph, None, None) is None
    assert expand_partitions(graph, None, "eu..apac") == ["eu", "us", "apac"]
    assert expand_partitions(graph, "sales", "apac,eu,apac") == ["apac", "eu"]
    with pytest.raises(PartitionError, match="none of the selected assets is partitioned"):
        expand_partitions(graph, "config", "eu")
    with pytest.raises(PartitionError, match="unknown partition key 'mars'"):
        expand_partitions(graph, None, "mars")
