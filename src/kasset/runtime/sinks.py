"""Where a step's events go: a list (in-process), a JSON-lines file (local executor), the
operator over HTTP and the pod's termination message (clusters), or several at once.

Every reporter emits the same events (`records.EventRecord`); a sink only decides where
they are written.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from kasset.runtime.http_sink import HttpSink
from kasset.runtime.records import EventRecord
from kasset.runtime.termination import TerminationMessageSink

__all__ = [
    "EventSink",
    "FanoutSink",
    "HttpSink",
    "JsonLinesSink",
    "ListSink",
    "TerminationMessageSink",
]

logger = logging.getLogger("kasset.runtime")


@runtime_checkable
class EventSink(Protocol):
    """Receives the events of a step. `emit` must not block on the network; `close`
    flushes, waiting up to `timeout` seconds where delivery can be slow."""

    def emit(self, event: EventRecord) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


class ListSink:
    """Keeps events in memory, in order: what `materialize()` returns and tests assert."""

    def __init__(self) -> None:
        self.events: list[EventRecord] = []

    def emit(self, event: EventRecord) -> None:
        self.events.append(event)  # atomic under the GIL: safe from step threads

    def close(self, timeout: float | None = None) -> None:
        pass

    def of_type(self, type_: str) -> list[EventRecord]:
        return [event for event in self.events if event.type == type_]


class JsonLinesSink:
    """Appends one JSON object per line to `path`, flushed per event, so a reader (the
    local executor) sees every event a killed process managed to write."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        # Re-entrant: the SIGTERM handler may emit while the main thread is emitting.
        self._lock = threading.RLock()

    def emit(self, event: EventRecord) -> None:
        line = event.to_json() + "\n"
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def close(self, timeout: float | None = None) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class FanoutSink:
    """Emits to every sink in order; one failing sink does not silence the others."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    def emit(self, event: EventRecord) -> None:
        for sink in self.sinks:
            try:
                sink.emit(event)
            except Exception:
                logger.exception("cannot report event %s to %s", event.type, type(sink).__name__)

    def close(self, timeout: float | None = None) -> None:
        for sink in self.sinks:
            try:
                sink.close(timeout)
            except Exception:
                logger.exception("cannot close the event sink %s", type(sink).__name__)
