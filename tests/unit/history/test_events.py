"""History events: built from what the operator folds, with ids that make folding the
same thing twice store it once, and the numbers a plot can use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kasset.errors import HistoryError
from kasset.history import (
    SCHEDULE_TICK,
    HistoryEvent,
    automation_evaluation,
    from_step_event,
    run_phase_event,
    tick_event,
)
from kasset.history.api import decode_cursor, encode_cursor
from kasset.history.events import numeric_metadata
from kasset.history.schema import from_micros, to_micros
from kasset.runtime.records import CheckRecord, EventBuilder, PayloadRecord

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _builder() -> EventBuilder:
    return EventBuilder("nightly-1", "raw/orders[2026-01-01]", "raw/orders", "2026-01-01", 2,
                        clock=lambda: T)  # fmt: skip


def test_a_steps_materialization_keeps_its_id_keys_and_whole_metadata() -> None:
    record = _builder().event(
        "ASSET_MATERIALIZED", PayloadRecord(metadata={"rows": 3, "path": "s3://b/k"},
                                            data_version="v1", output_uri="file:///x")
    )  # fmt: skip
    event = from_step_event(record, namespace="data", graph="shop")
    assert (event.id, event.kind, event.namespace, event.graph) == (
        record.id, "ASSET_MATERIALIZED", "data", "shop",
    )  # fmt: skip
    assert (event.run, event.step, event.asset, event.partition, event.attempt) == (
        "nightly-1", "raw/orders[2026-01-01]", "raw/orders", "2026-01-01", 2,
    )  # fmt: skip
    assert event.timestamp == T
    assert event.payload == {
        "metadata": {"rows": 3, "path": "s3://b/k"},
        "dataVersion": "v1",
        "outputUri": "file:///x",
    }


def test_the_validated_event_model_converts_the_same_as_the_runtimes_record() -> None:
    record = _builder().event(
        "ASSET_CHECK_EVALUATED", PayloadRecord(check=CheckRecord("has_rows", False, "WARN"))
    )
    from_record = from_step_event(record, namespace="n", graph="g")
    from_model = from_step_event(record.to_model(), namespace="n", graph="g")
    assert from_record == from_model
    assert from_model.name == "has_rows"


def test_a_run_phase_event_has_the_same_id_each_time_it_is_folded() -> None:
    def make(at: datetime) -> HistoryEvent:
        return run_phase_event(namespace="data", graph="shop", run="r1", phase="Succeeded",
                               timestamp=at, launched_by="cli", assets=("b", "a", "a"))  # fmt: skip

    first, again = make(T), make(T + timedelta(seconds=5))
    assert first.id == again.id
    assert first.kind == "RUN_SUCCEEDED"
    assert first.payload == {"phase": "Succeeded", "launchedBy": "cli", "assets": ["a", "b"]}
    other_run_same_name = run_phase_event(
        namespace="data", graph="shop", run="r1", phase="Succeeded", timestamp=T, uid="u2"
    )
    assert other_run_same_name.id != first.id


def test_an_unknown_run_phase_is_a_clear_error() -> None:
    with pytest.raises(HistoryError, match="unknown run phase 'Done'"):
        run_phase_event(namespace="n", graph="g", run="r", phase="Done", timestamp=T)


def test_a_tick_is_identified_by_its_schedule_and_tick_time() -> None:
    local = timezone(timedelta(hours=2))
    a = tick_event(kind=SCHEDULE_TICK, namespace="n", graph="g", name="daily",
                   tick=T, timestamp=T, run="daily-1")  # fmt: skip
    b = tick_event(kind=SCHEDULE_TICK, namespace="n", graph="g", name="daily",
                   tick=T.astimezone(local), timestamp=T + timedelta(minutes=1))  # fmt: skip
    assert a.id == b.id
    assert a.name == "daily"
    assert a.payload == {"tick": "2026-03-01T12:00:00+00:00"}
    with pytest.raises(HistoryError, match="a tick is SCHEDULE_TICK or SENSOR_TICK"):
        tick_event(kind="TICK", namespace="n", graph="g", name="x", tick=T, timestamp=T)


def test_an_automation_evaluation_records_whether_it_requested_a_run() -> None:
    event = automation_evaluation(namespace="n", graph="g", asset="a", timestamp=T,
                                  requested=True, run="auto-1", payload={"tree": {}})  # fmt: skip
    assert (event.kind, event.asset, event.run) == ("AUTOMATION_EVALUATED", "a", "auto-1")
    assert event.payload == {"requested": True, "tree": {}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "needs an id and a kind"),
        ({"kind": "X" * 65}, "needs an id and a kind"),
        ({"graph": ""}, "needs a namespace and a graph"),
        ({"timestamp": datetime(2026, 1, 1)}, "naive timestamp"),
    ],
)
def test_an_event_missing_what_keys_it_is_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"id": "e", "kind": "K", "namespace": "n", "graph": "g",
                                 "timestamp": T, **changes}  # fmt: skip
    with pytest.raises(HistoryError, match=message):
        HistoryEvent(**fields)  # type: ignore[arg-type]


def test_only_finite_numbers_become_series_values() -> None:
    payload = {
        "metadata": {
            "rows": 10,
            "ratio": 0.5,
            "ok": False,
            "name": "x",
            "typed": {"type": "int", "value": 7},
            "nan": float("nan"),
            "inf": float("inf"),
            "url": {"type": "url", "value": "http://x"},
        }
    }
    assert numeric_metadata(payload) == {"rows": 10.0, "ratio": 0.5, "typed": 7.0}
    assert numeric_metadata({}) == {}
    assert numeric_metadata({"metadata": "not a mapping"}) == {}


def test_times_are_stored_as_exact_microseconds() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_micros(to_micros(moment)) == moment
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor(5, "run/x"), 2) == ["5", "run/x"]
    with pytest.raises(HistoryError, match="malformed page cursor"):
        decode_cursor(encode_cursor(5), 2)
    with pytest.raises(HistoryError, match="malformed page cursor"):
        decode_cursor("%%%", 2)
