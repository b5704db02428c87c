"""Batched status writes of Materializations: many step transitions, one merge patch.

A run marked dirty is written at most every `status_interval` seconds (longer for a big
status: the whole object is rewritten in etcd on every patch), and at once when it
finishes. One write is in flight per run at a time; changes made meanwhile go in the next.

The final write waits until the run's Asset changes are written (`AssetBook.settle`): a
run that says it finished has its materializations on its Assets, and its Stale marks on
their children, even if the operator dies right after. If an Asset write keeps failing,
the final write goes ahead after `SETTLE_ATTEMPTS` tries rather than hold the run open.

The writer keeps its own bookkeeping per run (`_Writes`: in flight, last write, settle
tries, size); the run record only says what changed. A run whose object is gone (404) is
reported up through the one callback, `gone(run)`; a run whose final status is written is
handed to the janitor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kasset.operator.assets.book import AssetBook
from kasset.operator.kube.client import ApiError
from kasset.operator.model.k8s_events import Reason
from kasset.operator.model.records import RunKey, RunRecord
from kasset.operator.model.status import build_status, iso
from kasset.operator.runs.announcing import Announcer
from kasset.operator.runs.janitor import Janitor
from kasset.operator.runs.ports import Ports, RunTable

__all__ = ["StatusFlushDue", "StatusWriter"]

logger = logging.getLogger(__name__)

#: Status bytes written per second per run, at most: sets the interval for big statuses.
BYTES_PER_SECOND = 2_000_000
BIG_STATUS = 256 * 1024
_ERROR_BACKOFF = 2.0
SETTLE_ATTEMPTS = 5


@dataclass(frozen=True)
class StatusFlushDue:
    """Timer key: the run's status is due for a write."""

    run: RunKey


@dataclass
class _Writes:
    """The writer's bookkeeping of one run."""

    flushing: bool = False
    last_flush_at: float = 0.0
    settle_failures: int = 0
    size: int = 0


class StatusWriter:
    def __init__(
        self,
        ports: Ports,
        table: RunTable,
        assets: AssetBook,
        janitor: Janitor,
        announcer: Announcer,
        gone: Callable[[RunKey], None],
    ) -> None:
        self.ports, self.table, self.assets, self.janitor = ports, table, assets, janitor
        self.announcer, self.gone = announcer, gone
        self._writes: dict[RunKey, _Writes] = {}
        ports.timers.on(StatusFlushDue, self.fire)

    def _of(self, record: RunRecord) -> _Writes:
        writes = self._writes.get(record.key)
        if writes is None:
            writes = self._writes[record.key] = _Writes()
        return writes

    def forget(self, key: RunKey) -> None:
        """The run is dropped: so is what the writer kept about it."""
        self._writes.pop(key, None)

    def interval(self, record: RunRecord) -> float:
        """The configured interval; for a status over 256 KiB, enough time to write it at
        BYTES_PER_SECOND."""
        size = self._of(record).size
        if size < BIG_STATUS:
            return self.ports.config.status_interval
        return max(self.ports.config.status_interval, size / BYTES_PER_SECOND)

    def mark(self, record: RunRecord) -> None:
        """Schedules a write of `record` if it changed (and is still a run of the table)."""
        if not self.table.is_live(record):
            return
        writes = self._of(record)
        if not record.dirty or writes.flushing:
            return
        now = self.ports.clock()
        gap = 0.0 if record.state.phase.finished else self.interval(record)
        at = max(now, writes.last_flush_at + gap)
        self.ports.timers.schedule(StatusFlushDue(record.key), at)

    def fire(self, due: StatusFlushDue) -> None:
        record = self.table.get(due.run)
        if record is not None and record.dirty and not self._of(record).flushing:
            self.ports.spawn(self.flush(record))

    async def flush(self, record: RunRecord) -> None:
        writes = self._of(record)
        writes.flushing, record.dirty = True, False
        final = record.state.phase.finished
        if final and not await self._assets_settled(record, writes):
            writes.flushing, record.dirty = False, True
            writes.last_flush_at = self.ports.clock() + _ERROR_BACKOFF
            self.mark(record)
            return
        status = build_status(record)
        failed = False
        try:
            result = await self.ports.kube.patch_status(
                "materializations", record.namespace, record.name, status
            )
        except ApiError as error:
            logger.warning(
                "cannot write the status of %s/%s: %s", record.namespace, record.name, error
            )
            result, failed = {}, True
            record.dirty = True
        finally:
            writes.flushing = False
            writes.last_flush_at = self.ports.clock() + (_ERROR_BACKOFF if failed else 0.0)
        if result is None:  # 404: the Materialization is gone
            self.gone(record.key)
            self.forget(record.key)
            return
        writes.size = len(json.dumps(status, separators=(",", ":")))
        if final and not record.dirty and not failed:
            self.forget(record.key)
            self.janitor.finished(record)
            return
        self.mark(record)

    async def _assets_settled(self, record: RunRecord, writes: _Writes) -> bool:
        graph = record.graph.graph
        touched = set(record.steps_of_asset)
        touched.update(child for key in record.steps_of_asset for child in graph.children(key))
        settled = await self.assets.settle(record.namespace, record.graph.name, touched)
        if settled:
            return True
        writes.settle_failures += 1
        if writes.settle_failures >= SETTLE_ATTEMPTS:
            logger.warning(
                "run %s/%s: writing its final status although some Asset statuses could "
                "not be written (%d tries)",
                record.namespace,
                record.name,
                writes.settle_failures,
            )
            return True
        return False

    async def flush_all(self) -> None:
        """Writes every pending change now (graceful shutdown)."""
        for record in list(self.table.runs.values()):
            if record.dirty and not self._of(record).flushing:
                await self.flush(record)

    async def write_invalid(self, key: RunKey, metadata: Mapping[str, Any], message: str) -> None:
        """A run that cannot be planned: Failed, with an Invalid condition saying why."""
        now = iso(self.ports.clock())
        status = {
            "phase": "Failed",
            "observedGeneration": metadata.get("generation"),
            "message": message[:4096],
            "completionTime": now,
            "conditions": [
                {
                    "type": "Invalid",
                    "status": "True",
                    "reason": "Invalid",
                    "message": message[:32768],
                    "lastTransitionTime": now,
                    "observedGeneration": metadata.get("generation"),
                }
            ],
        }
        logger.info("run %s/%s is invalid: %s", key[0], key[1], message)
        try:
            await self.ports.kube.patch_status("materializations", key[0], key[1], status)
        except ApiError as error:
            logger.warning("cannot write the status of %s/%s: %s", key[0], key[1], error)
            return
        await self.announcer.announce_now(
            key[0], key[1], metadata.get("uid"), Reason.RUN_INVALID, message
        )
