from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kasset.runtime.events import Event, EventBuilder, error_payload
from kasset.runtime.termination import (
    MAX_TERMINATION_BYTES,
    TerminationMessageSink,
    termination_message,
)


def builder(step: str = "raw/orders", partition: str | None = None) -> EventBuilder:
    return EventBuilder("run-1", step, step.partition("[")[0], partition, 1)


def parse(text: str) -> dict:  # type: ignore[type-arg]
    assert len(text.encode()) <= MAX_TERMINATION_BYTES
    message = json.loads(text)
    assert message["v"] == 1
    return message  # type: ignore[no-any-return]


def test_termination_message_holds_the_final_events_only() -> None:
    b = builder()
    events = [
        b.started(),
        b.materialized({"rows": 3}, "file:///x.pkl"),
        b.check_evaluated("has_rows", True),
        b.succeeded(0.2),
    ]
    message = parse(termination_message(events))
    types = [e["type"] for e in message["events"]]
    assert types == ["ASSET_MATERIALIZED", "ASSET_CHECK_EVALUATED", "STEP_SUCCEEDED"]
    assert message["events"][0]["payload"]["metadata"] == {"rows": 3}
    assert Event.model_validate(message["events"][-1]).id == events[-1].id


def test_termination_message_stays_under_4kib_with_huge_metadata() -> None:
    b = builder()
    huge = {f"key{i}": "v" * 1000 for i in range(64)}
    events = [b.materialized(huge, "file:///x.pkl"), b.succeeded(1.0)]
    message = parse(termination_message(events))
    materialized, succeeded = message["events"]
    assert "metadata" not in materialized["payload"]  # dropped first, the rest is kept
    assert materialized["payload"]["outputUri"] == "file:///x.pkl"
    assert succeeded["id"] == events[1].id


def test_long_tracebacks_are_cut_keeping_their_end() -> None:
    b = builder()
    traceback_text = "Traceback:\n" + "  frame\n" * 2000 + "ValueError: the real reason\n"
    failed = b.failed(error_payload("ValueError", "the real reason", traceback_text))
    message = parse(termination_message([failed]))
    error = message["events"][0]["payload"]["error"]
    assert error["message"] == "the real reason"
    assert error["traceback"].endswith("ValueError: the real reason\n")


def test_check_events_go_before_the_outcome_does() -> None:
    b = builder()
    checks = [
        b.check_evaluated(
            f"check_number_{i:03d}_with_a_long_name", i % 2 == 0, "ERROR", {"detail": "x" * 500}
        )
        for i in range(80)
    ]
    outcome = b.failed(
        error_payload("BlockingCheckFailed", "check_number_001 failed", retryable=False)
    )
    message = parse(termination_message([*checks, outcome]))
    assert message["events"][-1]["id"] == outcome.id
    kept_checks = [e for e in message["events"] if e["type"] == "ASSET_CHECK_EVALUATED"]
    assert all(not e["payload"]["check"]["passed"] for e in kept_checks)  # passing ones went first


def test_termination_sink_writes_after_each_final_event(tmp_path: Path) -> None:
    path = tmp_path / "termination-log"
    sink = TerminationMessageSink(path)
    b = builder()
    sink.emit(b.started())
    assert not path.exists()
    sink.emit(b.materialized({"rows": 1}))
    assert [e["type"] for e in json.loads(path.read_text())["events"]] == ["ASSET_MATERIALIZED"]
    sink.emit(b.succeeded())
    sink.close()
    types = [e["type"] for e in json.loads(path.read_text())["events"]]
    assert types == ["ASSET_MATERIALIZED", "STEP_SUCCEEDED"]


def test_an_unwritable_termination_log_does_not_fail_the_step(tmp_path: Path) -> None:
    sink = TerminationMessageSink(tmp_path / "missing-dir" / "log")
    sink.emit(builder().succeeded())
    sink.close()


_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.builds(
    lambda c, n: c * n, st.characters(), st.integers(0, 20_000)
)
_metadata = st.dictionaries(st.text(max_size=200), _text | st.integers() | st.floats(), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metadata=_metadata,
    traceback_text=_text,
    message=_text,
    error_type=st.text(min_size=1, max_size=300),
    check_count=st.integers(0, 40),
    partition=st.none() | st.text(st.characters(codec="utf-8"), min_size=1, max_size=256),
    failed=st.booleans(),
)
def test_any_events_give_valid_json_under_4kib_containing_the_outcome(
    metadata: dict[str, object],
    traceback_text: str,
    message: str,
    error_type: str,
    check_count: int,
    partition: str | None,
    failed: bool,
) -> None:
    b = EventBuilder("r" * 253, "s" * 1000, "a" * 1000, partition, 7)
    events = [b.started(), b.materialized(metadata, "file://" + "u" * 2000, "v" * 256)]
    events += [
        b.check_evaluated(f"c{i}", i % 3 == 0, "ERROR", metadata) for i in range(check_count)
    ]
    outcome = (
        b.failed(error_payload(error_type, message, traceback_text), 1.0)
        if failed
        else b.succeeded(1.0)
    )
    events.append(outcome)
    text = termination_message(events)
    assert text.isascii()
    parsed = parse(text)
    last = parsed["events"][-1]
    assert (last["id"], last["type"]) == (outcome.id, outcome.type)
    Event.model_validate(last)
