"""The schema (`events.Event`) and what the runtime builds (`records`) must agree: every
kind of event the builder makes is accepted by the schema and survives it unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kasset.runtime.events import MAX_METADATA_ENTRIES, Event
from kasset.runtime.records import EventBuilder, EventRecord, error_payload


def builder(partition: str | None = "eu") -> EventBuilder:
    return EventBuilder("run-1", "raw/orders[eu]", "raw/orders", partition, 2)


def every_kind(b: EventBuilder) -> list[EventRecord]:
    return [
        b.started(),
        b.materialized({"rows": 3, "path": "/x", "ok": None}, "file:///x.pkl", "v1", 0.5),
        b.materialized(),
        b.check_evaluated("has_rows", False, "WARN", {"rows": 0}),
        b.succeeded(1.25),
        b.failed(error_payload("ValueError", "boom", "Traceback ...", retryable=False), 2.0),
        b.failed(error_payload("Terminated", "SIGTERM")),
    ]


def assert_schema_agrees(record: EventRecord) -> None:
    model = Event.model_validate_json(record.to_json())
    assert model.to_dict() == record.to_dict()
    assert Event.from_record(record) == model


def test_every_kind_of_built_event_is_accepted_unchanged_by_the_schema() -> None:
    for record in every_kind(builder()) + every_kind(builder(partition=None)):
        assert_schema_agrees(record)


_text = st.text(max_size=50) | st.builds(lambda c, n: c * n, st.characters(), st.integers(0, 9000))
_values = _text | st.integers() | st.floats() | st.booleans() | st.none()


@settings(max_examples=100, deadline=None)
@given(
    metadata=st.dictionaries(_text | st.integers(), _values, max_size=80),
    message=_text,
    traceback_text=_text,
    error_type=_text,
    name=st.text(min_size=1, max_size=300),
    partition=st.none() | st.text(min_size=0, max_size=256),
    data_version=st.none() | _text,
    duration=st.none() | st.floats(min_value=-5, max_value=1e9),
)
def test_built_events_always_fit_the_schema(
    metadata: dict[object, object],
    message: str,
    traceback_text: str,
    error_type: str,
    name: str,
    partition: str | None,
    data_version: str | None,
    duration: float | None,
) -> None:
    b = EventBuilder("run-1", "s", "a", partition, 1)
    for record in (
        b.materialized(metadata, "file:///" + message, data_version, duration),
        b.check_evaluated(name, True, "ERROR", metadata),
        b.failed(error_payload(error_type, message, traceback_text), duration),
    ):
        assert_schema_agrees(record)


def test_parsed_timestamps_are_converted_to_utc() -> None:
    event = builder().started().to_dict()
    event["timestamp"] = "2024-01-02T05:04:05+02:00"
    parsed = Event.model_validate(event)
    assert parsed.timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parsed.timestamp.utcoffset() == timedelta(0)


def test_naive_timestamps_are_rejected() -> None:
    event = builder().started().to_dict()
    event["timestamp"] = "2024-01-02T03:04:05"
    with pytest.raises(pydantic.ValidationError):
        Event.model_validate(event)


def test_hostile_bodies_are_rejected_by_the_schema() -> None:
    good = builder().started().to_dict()
    too_many = {**good, "payload": {"metadata": {str(i): i for i in range(65)}}}
    too_long = {**good, "payload": {"metadata": {"k": "x" * 1025}}}
    long_traceback = {**good, "payload": {"error": {"type": "E", "traceback": "x" * 9000}}}
    bad_type = {**good, "type": "STEP_EXPLODED"}
    long_run = {**good, "run": "r" * 254}
    for body in (too_many, too_long, long_traceback, bad_type, long_run):
        with pytest.raises(pydantic.ValidationError):
            Event.model_validate(body)


def test_unknown_fields_are_ignored_so_newer_runtimes_can_add_some() -> None:
    body = {**builder().started().to_dict(), "newField": 1}
    assert Event.model_validate(body).type == "STEP_STARTED"


def test_omitted_optional_fields_take_their_defaults() -> None:
    minimal = {
        "id": "x",
        "type": "STEP_SUCCEEDED",
        "run": "r",
        "step": "a",
        "asset": "a",
        "attempt": 1,
        "timestamp": "2024-01-02T03:04:05Z",
    }
    event = Event.model_validate(minimal)
    assert event.partition is None and event.payload.metadata == {}


def test_the_json_schema_uses_the_wire_names() -> None:
    schema = Event.model_json_schema()
    payload = schema["$defs"]["EventPayload"]["properties"]
    assert {"outputUri", "dataVersion", "durationSeconds", "metadata"} <= set(payload)
    assert payload["metadata"]["maxProperties"] == MAX_METADATA_ENTRIES
