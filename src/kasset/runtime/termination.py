"""The pod's termination message: the step's final events, written where the kubelet
keeps them (<= 4096 bytes), so an outcome survives an operator that was down.

The message is `{"v": 1, "events": [...]}` and always valid JSON. When the events are too
big, they are shrunk in a fixed order: metadata goes first, then tracebacks and messages
are cut, then check events go; the step's outcome event is always kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kasset.runtime.records import (
    FINAL_EVENT_TYPES,
    OUTCOME_EVENT_TYPES,
    EventRecord,
    truncate_text,
    truncate_traceback,
)

__all__ = ["MAX_TERMINATION_BYTES", "TerminationMessageSink", "termination_message"]

logger = logging.getLogger("kasset.runtime")

MAX_TERMINATION_BYTES = 4096
VERSION = 1
_Shrink = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def termination_message(events: Sequence[EventRecord], limit: int = MAX_TERMINATION_BYTES) -> str:
    """The message for `events` (only final-outcome events are kept), at most `limit`
    bytes. ASCII only, so characters and bytes are the same count."""
    kept = [_compact(event.to_dict()) for event in events if event.type in FINAL_EVENT_TYPES]
    text = _render(kept)
    for shrink in _SHRINKS:
        if len(text) <= limit:
            break
        kept = shrink(kept)
        text = _render(kept)
    return text


def _render(events: list[dict[str, Any]]) -> str:
    return json.dumps({"v": VERSION, "events": events}, separators=(",", ":"), ensure_ascii=True)


def _compact(event: dict[str, Any]) -> dict[str, Any]:
    """Leaves out nulls and empty metadata: the reader's defaults say the same."""
    payload = {
        key: (
            {k: v for k, v in value.items() if v is not None}
            if isinstance(value, dict) and key != "metadata"
            else value
        )
        for key, value in event["payload"].items()
        if value is not None and value != {}
    }
    compact = {key: value for key, value in event.items() if value is not None}
    compact["payload"] = payload
    return compact


def _without_metadata(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**e, "payload": {k: v for k, v in e["payload"].items() if k != "metadata"}} for e in events
    ]


def _cut_errors(traceback_bytes: int, message_chars: int) -> _Shrink:
    def shrink(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = []
        for event in events:
            error = event["payload"].get("error")
            if error is None:
                result.append(event)
                continue
            cut = {**error, "message": truncate_text(error.get("message", ""), message_chars)}
            if cut.get("traceback"):
                cut["traceback"] = truncate_traceback(cut["traceback"], traceback_bytes)
            if not cut.get("traceback"):
                cut.pop("traceback", None)
            result.append({**event, "payload": {**event["payload"], "error": cut}})
        return result

    return shrink


def _without_passed_checks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e["type"] != "ASSET_CHECK_EVALUATED" or not e["payload"].get("check", {}).get("passed")
    ]


def _without_checks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] != "ASSET_CHECK_EVALUATED"]


def _outcome_only(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    outcomes = [e for e in events if e["type"] in OUTCOME_EVENT_TYPES]
    return outcomes[-1:]


def _short_strings(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Last resort, for absurdly long names: the names and the error cut short. With
    each at most 32 characters, even fully escaped, the outcome fits."""

    def cut(value: Any) -> Any:
        if isinstance(value, str):
            return truncate_text(value, 32)
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        return value

    keep = ("id", "type", "timestamp", "attempt")
    return [{k: (v if k in keep else cut(v)) for k, v in e.items()} for e in events]


_SHRINKS: tuple[_Shrink, ...] = (
    _without_metadata,
    _cut_errors(2048, 1024),
    _cut_errors(512, 256),
    _cut_errors(0, 128),
    _without_passed_checks,
    _without_checks,
    _outcome_only,
    _short_strings,
)


class TerminationMessageSink:
    """Collects the final-outcome events and writes the termination message to `path`,
    after each one (so a step killed later still leaves what it did) and on close."""

    def __init__(self, path: str | Path, limit: int = MAX_TERMINATION_BYTES) -> None:
        self.path = Path(path)
        self.limit = limit
        self.events: list[EventRecord] = []

    def emit(self, event: EventRecord) -> None:
        if event.type in FINAL_EVENT_TYPES:
            self.events.append(event)
            self._write()

    def close(self, timeout: float | None = None) -> None:
        if self.events:
            self._write()

    def _write(self) -> None:
        try:
            self.path.write_text(termination_message(self.events, self.limit), encoding="ascii")
        except OSError as error:
            logger.warning("cannot write the termination message to %s: %s", self.path, error)
