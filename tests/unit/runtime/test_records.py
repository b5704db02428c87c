from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from kasset.runtime.records import (
    MAX_METADATA_ENTRIES,
    MAX_METADATA_VALUE,
    MAX_TRACEBACK_BYTES,
    EventBuilder,
    error_payload,
    summarize_metadata,
    truncate_traceback,
)

FIXED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def builder(**kwargs: object) -> EventBuilder:
    defaults: dict[str, object] = {
        "run": "run-1",
        "step": "raw/orders[eu]",
        "asset": "raw/orders",
        "partition": "eu",
        "attempt": 2,
        "clock": lambda: FIXED,
    }
    return EventBuilder(**{**defaults, **kwargs})  # type: ignore[arg-type]


def test_events_serialise_with_camel_case_names_and_utc_timestamps() -> None:
    event = builder().materialized({"rows": 3}, "file:///s/raw/orders/eu.pkl", "v1", 0.5)
    data = json.loads(event.to_json())
    assert data == {
        "id": event.id,
        "type": "ASSET_MATERIALIZED",
        "run": "run-1",
        "step": "raw/orders[eu]",
        "asset": "raw/orders",
        "partition": "eu",
        "attempt": 2,
        "timestamp": "2024-01-02T03:04:05Z",
        "payload": {
            "metadata": {"rows": 3},
            "dataVersion": "v1",
            "outputUri": "file:///s/raw/orders/eu.pkl",
            "check": None,
            "error": None,
            "durationSeconds": 0.5,
        },
    }


def test_every_event_gets_a_fresh_uuid4_id() -> None:
    events = [builder().started() for _ in range(3)]
    assert len({e.id for e in events}) == 3
    assert all(len(e.id) == 36 and e.id[14] == "4" for e in events)


def test_times_from_the_clock_are_reported_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = builder(clock=lambda: datetime(2024, 1, 2, 5, 4, 5, 120, tzinfo=plus_two)).started()
    assert event.timestamp == datetime(2024, 1, 2, 3, 4, 5, 120, tzinfo=UTC)
    assert event.to_dict()["timestamp"] == "2024-01-02T03:04:05.000120Z"
    naive = builder(clock=lambda: datetime(2024, 1, 2, 3, 4, 5)).started()
    assert naive.to_dict()["timestamp"] == "2024-01-02T03:04:05Z"


def test_summarize_metadata_types_paths_and_json_as_dagster_does_and_strings_the_rest() -> None:
    summary = summarize_metadata(
        {
            "rows": 3,
            "ratio": 0.5,
            "ok": True,
            "none": None,
            "path": Path("/data/x"),
            "columns": ["a", "b"],
            "price": Decimal("1.50"),
            "nan": float("nan"),
            "huge": 2**70,
            7: "seven",
        }
    )
    assert summary == {
        "rows": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
        "path": {"type": "path", "value": "/data/x"},
        "columns": {"type": "json", "value": ["a", "b"]},
        "price": "1.50",
        "nan": "nan",
        "huge": str(2**70),
        "7": "seven",
    }


def test_summarize_metadata_bounds_entries_and_value_sizes() -> None:
    summary = summarize_metadata({f"k{i}": "x" * 5000 for i in range(200)})
    assert len(summary) == MAX_METADATA_ENTRIES
    assert summary["kasset/dropped"] == "137 more entries not reported"
    assert all(len(str(v)) <= MAX_METADATA_VALUE for v in summary.values())
    assert str(summary["k0"]).endswith("…")


def test_summarize_metadata_survives_a_broken_str() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert summarize_metadata({"x": Broken()}) == {"x": "<unprintable Broken: RuntimeError>"}


def test_numpy_scalars_become_plain_numbers() -> None:
    numpy = pytest.importorskip("numpy")
    summary = summarize_metadata(
        {"i": numpy.int64(3), "f": numpy.float32(0.5), "b": numpy.bool_(True)}
    )
    assert summary == {"i": 3, "f": 0.5, "b": True}
    assert type(summary["i"]) is int and type(summary["b"]) is bool


def test_tracebacks_keep_their_end_within_8_kib() -> None:
    text = "".join(f"  line {i}\n" for i in range(5000)) + "ValueError: boom\n"
    cut = truncate_traceback(text)
    assert len(cut.encode()) <= MAX_TRACEBACK_BYTES
    assert cut.startswith("…") and cut.endswith("ValueError: boom\n")


def test_tracebacks_are_cut_on_character_boundaries() -> None:
    cut = truncate_traceback("é" * 10_000)
    assert len(cut.encode()) <= MAX_TRACEBACK_BYTES
    cut.encode("utf-8", "strict")


def test_text_that_json_cannot_carry_is_repaired() -> None:
    event = builder().failed(error_payload("OSError", "bad name \udcff", "tb \ud800"))
    assert "\udcff" not in event.to_json()
    assert json.loads(event.to_json())["payload"]["error"]["message"] == "bad name ?"


def test_builder_refuses_names_over_the_schema_limits() -> None:
    with pytest.raises(ValueError, match="run"):
        builder(run="r" * 300)
    with pytest.raises(ValueError, match="attempt"):
        builder(attempt=0)


def test_failed_event_carries_a_bounded_error() -> None:
    payload = error_payload("ValueError", "m" * 10_000, "t" * 20_000, retryable=False)
    event = builder().failed(payload, 1.5)
    error = event.payload.error
    assert error is not None and not error.retryable
    assert len(error.message) <= 4096 and len((error.traceback or "").encode()) <= 8192
    assert event.payload.duration_seconds == 1.5


def test_check_events_carry_name_result_and_severity() -> None:
    event = builder().check_evaluated("has_rows", False, "WARN", {"rows": 0})
    assert event.payload.check is not None
    check = event.payload.check
    assert (check.name, check.passed, check.severity) == ("has_rows", False, "WARN")
    assert event.payload.metadata == {"rows": 0}
