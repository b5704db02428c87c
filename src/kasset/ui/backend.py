"""What the web UI needs from wherever runs happen: the `Backend` protocol, its errors,
and `ChangeFeed`, the thread-to-asyncio wake-up both backends use for live pages.

Pages and API routes only talk to a Backend, so the same UI serves `kasset dev` (runs in
local subprocesses) and the cluster (resources read through the Kubernetes API).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import Protocol

from kasset.errors import KassetError
from kasset.resources import (
    AssetGraphResource,
    AssetResource,
    MaterializationResource,
    PartitionSelection,
    RunPhase,
)
from kasset.ui.schedules import ScheduleView

__all__ = [
    "Backend",
    "BackendError",
    "ChangeFeed",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "select_runs",
    "watch_object",
]


class BackendError(KassetError):
    """A request the backend cannot serve; the UI shows its message."""


class NotFoundError(BackendError):
    """No such graph, asset, run or step (HTTP 404)."""


class InvalidRequestError(BackendError):
    """A launch with a bad selection or partitions (HTTP 400, shown inline)."""


class ConflictError(BackendError):
    """The object is not in a state that allows the request, e.g. canceling a finished
    run (HTTP 409)."""


class Backend(Protocol):
    """The data source of the UI. Reads must be cheap (served from memory): a page view
    calls several of them."""

    #: "dev" or "cluster", shown in the header.
    mode: str

    def graphs(self) -> list[AssetGraphResource]: ...

    def graph(self, namespace: str, name: str) -> AssetGraphResource: ...

    def assets(
        self, namespace: str | None = None, graph: str | None = None
    ) -> list[AssetResource]: ...

    def asset(self, namespace: str, name: str) -> AssetResource: ...

    def runs(
        self,
        namespace: str | None = None,
        graph: str | None = None,
        phase: RunPhase | None = None,
        limit: int = 200,
    ) -> list[MaterializationResource]:
        """Newest first."""
        ...

    def run(self, namespace: str, name: str) -> MaterializationResource: ...

    def watch_run(self, namespace: str, name: str) -> AsyncIterator[MaterializationResource]:
        """The run now, then again each time it changes, until it has finished."""
        ...

    def step_logs(
        self,
        namespace: str,
        run: str,
        step: str,
        attempt: int | None = None,
        follow: bool = False,
    ) -> AsyncIterator[str]:
        """Chunks of a step attempt's output (default: the latest attempt); with
        `follow`, until the attempt ends."""
        ...

    def launch(
        self,
        namespace: str,
        graph: str,
        selection: str,
        partitions: PartitionSelection | None,
        launched_by: str,
    ) -> str:
        """Starts a run and returns its name. InvalidRequestError for a bad selection."""
        ...

    def cancel(self, namespace: str, run: str) -> None: ...

    def rerun_failed(self, namespace: str, run: str) -> str:
        """Starts a run of the failed (and skipped) steps of `run`; returns its name."""
        ...

    def schedules(self) -> list[ScheduleView]: ...


class ChangeFeed:
    """Version counters that threads bump and coroutines await.

    Backends update their objects on worker threads; `wait` lets an SSE handler sleep
    until its object changes instead of polling.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[Hashable, int] = {}
        self._waiters: dict[Hashable, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def version(self, key: Hashable) -> int:
        with self._lock:
            return self._versions.get(key, 0)

    def bump(self, key: Hashable) -> None:
        with self._lock:
            self._versions[key] = self._versions.get(key, 0) + 1
            waiters = self._waiters.pop(key, [])
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait(self, key: Hashable, seen: int, timeout: float) -> int:
        """Returns the version once it differs from `seen`, or after `timeout` seconds."""
        event = asyncio.Event()
        with self._lock:
            current = self._versions.get(key, 0)
            if current != seen:
                return current
            self._waiters.setdefault(key, []).append((asyncio.get_running_loop(), event))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            with self._lock:
                waiting = self._waiters.get(key, [])
                self._waiters[key] = [w for w in waiting if w[1] is not event]
        return self.version(key)


async def watch_object(
    feed: ChangeFeed,
    key: Hashable,
    read: Callable[[], MaterializationResource],
    *,
    heartbeat: float = 15.0,
) -> AsyncIterator[MaterializationResource]:
    """Yields `read()` now and after every change of `key`, until the run finished.

    A heartbeat re-read every `heartbeat` seconds keeps a missed wake-up harmless.
    """
    version = feed.version(key)
    run = read()
    yield run
    last = run.model_dump_json()
    while not _finished(run):
        version = await feed.wait(key, version, heartbeat)
        run = read()
        dumped = run.model_dump_json()
        if dumped != last:
            last = dumped
            yield run


def _finished(run: MaterializationResource) -> bool:
    phase = run.status.phase if run.status else RunPhase.PENDING
    return phase in (RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELED)


def select_runs(
    runs: Iterable[MaterializationResource],
    namespace: str | None = None,
    graph: str | None = None,
    phase: RunPhase | None = None,
    limit: int = 200,
) -> list[MaterializationResource]:
    """The runs matching the filters, newest first (a run without status is Pending)."""
    chosen = [
        run
        for run in runs
        if (namespace is None or run.metadata.namespace == namespace)
        and (graph is None or run.spec.graph == graph)
        and (phase is None or (run.status.phase if run.status else RunPhase.PENDING) is phase)
    ]
    oldest = datetime.min.replace(tzinfo=UTC)
    chosen.sort(key=lambda run: run.metadata.creation_timestamp or oldest, reverse=True)
    return chosen[:limit]
