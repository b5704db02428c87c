"""What the run controller's collaborators are given instead of the controller: the ports
they reach the outside through, and the table of runs they share.

Each collaborator (launching, status writing, the janitor, intake, starting) takes a
`Ports` and the `RunTable`, plus the few collaborators below it that it calls; none holds
the `Controller`. Tests build the same objects with a fake `Kube` and a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from kasset.operator.kube.client import Kube
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.records import FinishedRun, RunKey, RunRecord
from kasset.operator.model.timers import Timers
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.telemetry.sink import MetricsSink

__all__ = ["Ports", "RunTable", "Tasks"]

logger = logging.getLogger(__name__)


class Tasks:
    """Background work of the controller: spawned on the running loop, errors logged,
    never lost; `drain` waits for all of it (tests, graceful shutdown)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@dataclass(frozen=True)
class Ports:
    """The controller's way out: the API client, timers, metrics, clock, settings, and
    where background work is spawned."""

    kube: Kube
    timers: Timers
    metrics: MetricsSink
    clock: Callable[[], float]
    config: ControllerConfig
    spawn: Callable[[Coroutine[Any, Any, Any]], None]


@dataclass
class RunTable:
    """The runs the controller drives, the runs waiting for a global slot, the runs being
    started (with the events that arrived meanwhile), the finished runs the janitor keeps,
    and the graphs runs are planned from. `ready` turns True once every run is restored.
    """

    runs: dict[RunKey, RunRecord] = field(default_factory=dict)
    waiting: deque[RunKey] = field(default_factory=deque)
    restoring: dict[RunKey, list[Callable[[], None]]] = field(default_factory=dict)
    finished: dict[RunKey, FinishedRun] = field(default_factory=dict)
    graphs: dict[tuple[str, str], GraphSnapshot] = field(default_factory=dict)
    ready: bool = False

    def get(self, key: RunKey) -> RunRecord | None:
        return self.runs.get(key)

    def is_live(self, record: RunRecord) -> bool:
        """Whether `record` is still the run of its key (not finished and forgotten)."""
        return self.runs.get(record.key) is record

    def running_total(self) -> int:
        return sum(record.running_count for record in self.runs.values())

    def running_of(self, key: RunKey) -> int:
        record = self.runs.get(key)
        return record.running_count if record is not None else -1

    def namespace_of(self, run: str) -> str | None:
        """The namespace of the run named `run` (names are unique per namespace; the
        token check rejects a wrong guess when two namespaces share one)."""
        for namespace, name in self._known():
            if name == run:
                return namespace
        return None

    def _known(self) -> Iterator[RunKey]:
        yield from self.runs
        yield from self.restoring
        yield from self.finished
