"""Events as the runtime builds them: plain slotted objects of exactly the wire shape that
`kasset.runtime.events.Event` (the schema) validates, made without importing pydantic.

Importing pydantic and building the schema's models takes about as long as the rest of
a step process's start-up; a step pod needs neither to report. The builders cut every
user-supplied value to the schema's limits, and the tests check each kind of event
against the schema, so what is sent here is what the operator accepts.
"""

from __future__ import annotations

import json
import math
import numbers
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

__all__ = [
    "ERROR_TYPE_BLOCKING_CHECK",
    "EVENT_TYPES",
    "FINAL_EVENT_TYPES",
    "MAX_ASSET",
    "MAX_CHECK_NAME",
    "MAX_DATA_VERSION",
    "MAX_ERROR_MESSAGE",
    "MAX_ERROR_TYPE",
    "MAX_ID",
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_KEY",
    "MAX_METADATA_VALUE",
    "MAX_PARTITION",
    "MAX_RUN",
    "MAX_STEP",
    "MAX_TRACEBACK_BYTES",
    "MAX_URI",
    "OUTCOME_EVENT_TYPES",
    "CheckRecord",
    "ErrorRecord",
    "EventBuilder",
    "EventRecord",
    "EventType",
    "MetadataValue",
    "PayloadRecord",
    "Severity",
    "error_payload",
    "is_bool",
    "summarize_metadata",
    "truncate_text",
    "truncate_traceback",
    "utc_now",
    "valid_unicode",
]

MAX_ID = 36
MAX_RUN = 253  # a Kubernetes object name
MAX_ASSET = 1024
MAX_PARTITION = 256
MAX_STEP = MAX_ASSET + MAX_PARTITION + 2
MAX_ATTEMPT = 10_000
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY = 128
MAX_METADATA_VALUE = 1024
MAX_DATA_VERSION = 256
MAX_URI = 2048
MAX_CHECK_NAME = 128
MAX_ERROR_TYPE = 256
MAX_ERROR_MESSAGE = 4096
MAX_TRACEBACK_BYTES = 8192
_INT64 = 2**63
ELLIPSIS = "…"

ERROR_TYPE_BLOCKING_CHECK = "BlockingCheckFailed"

EventType: TypeAlias = Literal[
    "STEP_STARTED",
    "ASSET_MATERIALIZED",
    "ASSET_CHECK_EVALUATED",
    "STEP_SUCCEEDED",
    "STEP_FAILED",
]
Severity: TypeAlias = Literal["ERROR", "WARN"]
MetadataValue: TypeAlias = str | int | float | bool | None

EVENT_TYPES: tuple[EventType, ...] = (
    "STEP_STARTED",
    "ASSET_MATERIALIZED",
    "ASSET_CHECK_EVALUATED",
    "STEP_SUCCEEDED",
    "STEP_FAILED",
)
OUTCOME_EVENT_TYPES = frozenset({"STEP_SUCCEEDED", "STEP_FAILED"})
"""How a step attempt ended: exactly one per attempt, never dropped."""
FINAL_EVENT_TYPES = frozenset({"ASSET_MATERIALIZED", "ASSET_CHECK_EVALUATED"}) | (
    OUTCOME_EVENT_TYPES
)
"""What the termination message keeps: the results of the step, not its progress."""


@dataclass(frozen=True, slots=True)
class CheckRecord:
    name: str
    passed: bool
    severity: Severity = "ERROR"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "severity": self.severity}


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    type: str
    message: str = ""
    traceback: str | None = None
    retryable: bool = True
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "traceback": self.traceback,
            "retryable": self.retryable,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True, slots=True)
class PayloadRecord:
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    data_version: str | None = None
    output_uri: str | None = None
    check: CheckRecord | None = None
    error: ErrorRecord | None = None
    duration_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metadata": dict(self.metadata),
            "dataVersion": self.data_version,
            "outputUri": self.output_uri,
            "check": self.check.to_dict() if self.check is not None else None,
            "error": self.error.to_dict() if self.error is not None else None,
            "durationSeconds": self.duration_seconds,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One thing that happened to one attempt of one step, with the attributes of
    `events.Event`. `to_json()` writes the wire form; `events.Event.from_record(record)`
    validates it (this module stays free of pydantic, and of `events`)."""

    id: str
    type: EventType
    run: str
    step: str
    asset: str
    partition: str | None
    attempt: int
    timestamp: datetime
    payload: PayloadRecord = field(default_factory=PayloadRecord)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-compatible form: camelCase names, RFC 3339 UTC timestamp."""
        return {
            "id": self.id,
            "type": self.type,
            "run": self.run,
            "step": self.step,
            "asset": self.asset,
            "partition": self.partition,
            "attempt": self.attempt,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "payload": self.payload.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def __eq__(self, other: object) -> bool:
        # An `events.Event` of the same wire form is equal too: `Event.__eq__` says so
        # when this returns NotImplemented for it.
        if isinstance(other, EventRecord):
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable metadata: like the model, unhashable


def utc_now() -> datetime:
    return datetime.now(UTC)


def valid_unicode(text: str) -> str:
    """`text` with lone surrogates (from undecodable bytes) replaced: JSON cannot carry them."""
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def truncate_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with an ellipsis when cut."""
    text = valid_unicode(text)
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS if limit > 0 else ""


def truncate_traceback(text: str, limit_bytes: int = MAX_TRACEBACK_BYTES) -> str:
    """The end of a traceback (where the exception is) in at most `limit_bytes` UTF-8 bytes."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit_bytes:
        return text if text.isascii() else encoded.decode("utf-8")
    if limit_bytes <= len(ELLIPSIS.encode()):
        return ""
    tail = encoded[len(encoded) - limit_bytes + len(ELLIPSIS.encode()) :]
    return ELLIPSIS + tail.decode("utf-8", "ignore")


def summarize_metadata(metadata: Mapping[Any, Any] | None) -> dict[str, MetadataValue]:
    """User metadata made safe to report: numbers, bools and None are kept, anything else
    becomes its `str()` cut to 1 KiB; at most 64 entries (the last one then says how many
    were dropped). Non-finite floats become strings, so the JSON stays valid.

    >>> summarize_metadata({"rows": 3, "columns": ["a", "b"], "ok": True})
    {'rows': 3, 'columns': "['a', 'b']", 'ok': True}
    """
    if not metadata:
        return {}
    summary: dict[str, MetadataValue] = {}
    items = list(metadata.items())
    keep = items if len(items) <= MAX_METADATA_ENTRIES else items[: MAX_METADATA_ENTRIES - 1]
    for key, value in keep:
        name = truncate_text(key if isinstance(key, str) else str(key), MAX_METADATA_KEY)
        summary[name or "_"] = _metadata_value(value)
    if len(items) > len(keep):
        summary["kasset/dropped"] = f"{len(items) - len(keep)} more entries not reported"
    return summary


def _metadata_value(value: Any) -> MetadataValue:
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return value if kind is not int or -_INT64 <= value < _INT64 else str(value)
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if kind is str:
        return truncate_text(value, MAX_METADATA_VALUE)
    if is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return _metadata_value(int(value))
    if isinstance(value, numbers.Real):
        return _metadata_value(float(value))
    try:
        text = str(value)
    except Exception as error:  # a broken __str__ must not fail the step
        text = f"<unprintable {kind.__name__}: {type(error).__name__}>"
    return truncate_text(text, MAX_METADATA_VALUE)


def is_bool(value: Any) -> bool:
    """A Python bool, or numpy's (`numpy.bool_`, which is no subclass of bool)."""
    kind = type(value)
    return kind is bool or (kind.__name__ in ("bool", "bool_") and kind.__module__ == "numpy")


def error_payload(
    type_name: str,
    message: str,
    traceback_text: str | None = None,
    *,
    retryable: bool = True,
    interrupted: bool = False,
) -> ErrorRecord:
    """An error cut to the schema's limits."""
    return ErrorRecord(
        type=truncate_text(type_name, MAX_ERROR_TYPE) or "Error",
        message=truncate_text(message, MAX_ERROR_MESSAGE),
        traceback=truncate_traceback(traceback_text) if traceback_text else None,
        retryable=retryable,
        interrupted=interrupted,
    )


class EventBuilder:
    """Builds the events of one step attempt, cutting user-supplied values to the limits.

    >>> EventBuilder("run-1", "orders", "orders", None, 1).started().type
    'STEP_STARTED'
    """

    __slots__ = ("asset", "attempt", "clock", "partition", "run", "step")

    def __init__(
        self,
        run: str,
        step: str,
        asset: str,
        partition: str | None,
        attempt: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        for name, value, limit in (
            ("run", run, MAX_RUN),
            ("step", step, MAX_STEP),
            ("asset", asset, MAX_ASSET),
        ):
            if not 0 < len(value) <= limit:
                raise ValueError(f"event {name} {value[:40]!r} must be 1-{limit} characters")
        if partition is not None and len(partition) > MAX_PARTITION:
            raise ValueError(f"partition {partition[:40]!r}... is over {MAX_PARTITION} characters")
        if not 1 <= attempt <= MAX_ATTEMPT:
            raise ValueError(f"attempt {attempt} is not in 1..{MAX_ATTEMPT}")
        self.run, self.step, self.asset = valid_unicode(run), valid_unicode(step), asset
        self.partition = valid_unicode(partition) if partition is not None else None
        self.attempt, self.clock = attempt, clock

    def event(self, type_: EventType, payload: PayloadRecord | None = None) -> EventRecord:
        moment = self.clock()
        if moment.tzinfo is not UTC:  # the schema says UTC; a naive time is taken as UTC
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        return EventRecord(
            str(uuid.uuid4()),
            type_,
            self.run,
            self.step,
            self.asset,
            self.partition,
            self.attempt,
            moment,
            payload if payload is not None else PayloadRecord(),
        )

    def started(self) -> EventRecord:
        return self.event("STEP_STARTED")

    def materialized(
        self,
        metadata: Mapping[str, Any] | None = None,
        output_uri: str | None = None,
        data_version: str | None = None,
        duration_seconds: float | None = None,
    ) -> EventRecord:
        payload = PayloadRecord(
            metadata=summarize_metadata(metadata),
            output_uri=truncate_text(output_uri, MAX_URI) if output_uri else None,
            data_version=truncate_text(data_version, MAX_DATA_VERSION)
            if data_version is not None
            else None,
            duration_seconds=_duration(duration_seconds),
        )
        return self.event("ASSET_MATERIALIZED", payload)

    def check_evaluated(
        self,
        name: str,
        passed: bool,
        severity: Severity = "ERROR",
        metadata: Mapping[str, Any] | None = None,
    ) -> EventRecord:
        check = CheckRecord(truncate_text(name, MAX_CHECK_NAME) or "check", bool(passed), severity)
        payload = PayloadRecord(metadata=summarize_metadata(metadata), check=check)
        return self.event("ASSET_CHECK_EVALUATED", payload)

    def succeeded(self, duration_seconds: float | None = None) -> EventRecord:
        return self.event(
            "STEP_SUCCEEDED", PayloadRecord(duration_seconds=_duration(duration_seconds))
        )

    def failed(self, error: ErrorRecord, duration_seconds: float | None = None) -> EventRecord:
        payload = PayloadRecord(error=error, duration_seconds=_duration(duration_seconds))
        return self.event("STEP_FAILED", payload)


def _duration(seconds: float | None) -> float | None:
    return None if seconds is None else max(0.0, float(seconds))
