from __future__ import annotations

import json
from pathlib import Path

import pytest

from kasset.runtime.events import Event, EventBuilder
from kasset.runtime.sinks import EventSink, FanoutSink, JsonLinesSink, ListSink

BUILDER = EventBuilder("run-1", "orders", "orders", None, 1)


def test_list_sink_keeps_events_in_order() -> None:
    sink = ListSink()
    events = [BUILDER.started(), BUILDER.succeeded()]
    for event in events:
        sink.emit(event)
    assert sink.events == events
    assert sink.of_type("STEP_SUCCEEDED") == events[1:]


def test_json_lines_sink_makes_each_event_readable_as_soon_as_it_is_emitted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events" / "orders.jsonl"
    sink = JsonLinesSink(path)
    first = BUILDER.started()
    sink.emit(first)
    lines = path.read_text().splitlines()  # before close: flushed per event
    assert [json.loads(line)["id"] for line in lines] == [first.id]
    sink.emit(BUILDER.succeeded())
    sink.close()
    parsed = [Event.model_validate_json(line) for line in path.read_text().splitlines()]
    assert [e.type for e in parsed] == ["STEP_STARTED", "STEP_SUCCEEDED"]


def test_json_lines_sink_appends_to_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"earlier": true}\n')
    sink = JsonLinesSink(path)
    sink.emit(BUILDER.started())
    sink.close()
    assert len(path.read_text().splitlines()) == 2


def test_a_failing_sink_does_not_silence_the_others(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def emit(self, event: Event) -> None:
            raise OSError("disk full")

        def close(self, timeout: float | None = None) -> None:
            raise OSError("still full")

    kept = ListSink()
    sink = FanoutSink(Broken(), kept)
    sink.emit(BUILDER.started())
    sink.close()
    assert len(kept.events) == 1
    assert "disk full" in caplog.text


def test_every_sink_satisfies_the_protocol(tmp_path: Path) -> None:
    for sink in (ListSink(), JsonLinesSink(tmp_path / "x"), FanoutSink()):
        assert isinstance(sink, EventSink)
