"""Step events as the operator folds them, whichever way they arrived.

Events reach the operator over HTTP (parsed by the ingest endpoint into
`kasset.runtime.events.Event`) or inside a pod's termination message (JSON). Both are
normalised here, from the wire shape documented in docs/internals.md, into one small
frozen value, so the controller never depends on how the runtime models its events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kasset.resources.base import status_metadata as summarize_metadata

__all__ = [
    "CheckOutcome",
    "EventType",
    "ReportedEvent",
    "parse_termination_message",
    "summarize_metadata",
    "to_reported",
]


class EventType:
    STEP_STARTED = "STEP_STARTED"
    ASSET_MATERIALIZED = "ASSET_MATERIALIZED"
    ASSET_CHECK_EVALUATED = "ASSET_CHECK_EVALUATED"
    STEP_SUCCEEDED = "STEP_SUCCEEDED"
    STEP_FAILED = "STEP_FAILED"


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str = "ERROR"


@dataclass(frozen=True)
class ReportedEvent:
    """One event of one step attempt, normalised."""

    id: str
    type: str
    run: str
    step: str
    attempt: int
    asset: str | None = None
    partition: str | None = None
    timestamp: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    data_version: str | None = None
    check: CheckOutcome | None = None
    error: str | None = None
    retryable: bool = True
    #: The runtime was stopped from outside (SIGTERM) before the step finished.
    interrupted: bool = False
    duration_seconds: float | None = None


def to_reported(event: object) -> ReportedEvent:
    """Normalises an `Event` model or its JSON dict. Raises ValueError when malformed."""
    raw: Any = event
    dump = getattr(event, "model_dump", None)
    if callable(dump):
        raw = dump(mode="json", by_alias=True)
    if not isinstance(raw, Mapping):
        raise ValueError(f"not an event: {type(event).__name__}")
    try:
        payload = _get(raw, "payload") or {}
        check = _get(payload, "check")
        error = _get(payload, "error")
        return ReportedEvent(
            id=str(raw["id"]),
            type=str(raw["type"]),
            run=str(raw["run"]),
            step=str(raw["step"]),
            attempt=int(raw["attempt"]),
            asset=_str_or_none(_get(raw, "asset")),
            partition=_str_or_none(_get(raw, "partition")),
            timestamp=_epoch(_get(raw, "timestamp")),
            metadata=summarize_metadata(_get(payload, "metadata") or {}),
            data_version=_str_or_none(_get(payload, "dataVersion", "data_version")),
            check=CheckOutcome(
                name=str(check["name"]),
                passed=bool(check["passed"]),
                severity=str(check.get("severity") or "ERROR").upper(),
            )
            if isinstance(check, Mapping)
            else None,
            error=_error_text(error),
            retryable=bool(error.get("retryable", True)) if isinstance(error, Mapping) else True,
            interrupted=isinstance(error, Mapping) and error.get("interrupted") is True,
            duration_seconds=_float_or_none(_get(payload, "durationSeconds", "duration_seconds")),
        )
    except (KeyError, TypeError) as problem:
        raise ValueError(f"malformed event: {problem!r}") from None


def parse_termination_message(text: str | None) -> list[ReportedEvent]:
    """The events of a termination message `{"v": 1, "events": [...]}`; [] if it is not
    one (a crash may leave anything there, or nothing)."""
    if not text:
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return []
    if not isinstance(document, Mapping) or document.get("v") != 1:
        return []
    events: list[ReportedEvent] = []
    for item in document.get("events") or []:
        try:
            events.append(to_reported(item))
        except ValueError:
            continue
    return events


def _get(mapping: Any, *names: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for name in names:
        if mapping.get(name) is not None:
            return mapping[name]
    return None


def _error_text(error: Any) -> str | None:
    if not isinstance(error, Mapping):
        return None if error is None else str(error)
    kind, message = error.get("type"), error.get("message")
    if kind and message:
        return f"{kind}: {message}"
    return str(message or kind or "failed")


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
