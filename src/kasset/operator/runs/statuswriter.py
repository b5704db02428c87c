"""Batched status writes of Materializations: many step transitions, one merge patch.

A run marked dirty is written at most every `status_interval` seconds (longer for a big
status: the whole object is rewritten in etcd on every patch), and at once when it
finishes. One write is in flight per run at a time; changes made meanwhile go in the next.

The final write waits until the run's Asset changes are written (`AssetBook.settle`): a
run that says it finished has its materializations on its Assets, and its Stale marks on
their children, even if the operator dies right after. If an Asset write keeps failing,
the final write goes ahead after `SETTLE_ATTEMPTS` tries rather than hold the run open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kasset.operator.kube.client import ApiError
from kasset.operator.model.k8s_events import Reason
from kasset.operator.model.records import RunKey, RunRecord
from kasset.operator.model.status import build_status, iso

if TYPE_CHECKING:
    from kasset.operator.runs.controller import Controller

__all__ = ["StatusWriter"]

logger = logging.getLogger(__name__)

#: Status bytes written per second per run, at most: sets the interval for big statuses.
BYTES_PER_SECOND = 2_000_000
BIG_STATUS = 256 * 1024
_ERROR_BACKOFF = 2.0
SETTLE_ATTEMPTS = 5


class StatusWriter:
    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self._sizes: dict[RunKey, int] = {}

    def interval(self, record: RunRecord) -> float:
        """The configured interval; for a status over 256 KiB, enough time to write it at
        BYTES_PER_SECOND."""
        size = self._sizes.get(record.key, 0)
        if size < BIG_STATUS:
            return self.c.config.status_interval
        return max(self.c.config.status_interval, size / BYTES_PER_SECOND)

    def mark(self, record: RunRecord) -> None:
        """Schedules a write of `record` if it changed."""
        if not record.dirty or record.flushing:
            return
        now = self.c.clock()
        gap = 0.0 if record.state.phase.finished else self.interval(record)
        at = max(now, record.last_flush_at + gap)
        self.c.timers.schedule(("flush", record.key), at)

    def fire(self, key: RunKey) -> None:
        record = self.c.runs.get(key)
        if record is not None and record.dirty and not record.flushing:
            self.c.spawn(self.flush(record))

    async def flush(self, record: RunRecord) -> None:
        record.flushing, record.dirty = True, False
        final = record.state.phase.finished
        if final and not await self._assets_settled(record):
            record.flushing, record.dirty = False, True
            record.last_flush_at = self.c.clock() + _ERROR_BACKOFF
            self.mark(record)
            return
        status = build_status(record)
        failed = False
        try:
            result = await self.c.kube.patch_status(
                "materializations", record.namespace, record.name, status
            )
        except ApiError as error:
            logger.warning(
                "cannot write the status of %s/%s: %s", record.namespace, record.name, error
            )
            result, failed = {}, True
            record.dirty = True
        finally:
            record.flushing = False
            record.last_flush_at = self.c.clock() + (_ERROR_BACKOFF if failed else 0.0)
        if result is None:  # 404: the Materialization is gone
            self.c.forget(record.key, delete_pods=True)
            self._sizes.pop(record.key, None)
            return
        self._sizes[record.key] = len(json.dumps(status, separators=(",", ":")))
        if final and not record.dirty and not failed:
            record.final_flushed = True
            self._sizes.pop(record.key, None)
            self.c.janitor.finished(record)
            return
        self.mark(record)

    async def _assets_settled(self, record: RunRecord) -> bool:
        graph = record.graph.graph
        touched = set(record.steps_of_asset)
        touched.update(child for key in record.steps_of_asset for child in graph.children(key))
        settled = await self.c.assets.settle(record.namespace, record.graph.name, touched)
        if settled:
            return True
        record.settle_failures += 1
        if record.settle_failures >= SETTLE_ATTEMPTS:
            logger.warning(
                "run %s/%s: writing its final status although some Asset statuses could "
                "not be written (%d tries)",
                record.namespace,
                record.name,
                record.settle_failures,
            )
            return True
        return False

    async def flush_all(self) -> None:
        """Writes every pending change now (graceful shutdown)."""
        for record in list(self.c.runs.values()):
            if record.dirty and not record.flushing:
                await self.flush(record)

    async def write_invalid(self, key: RunKey, metadata: Mapping[str, Any], message: str) -> None:
        """A run that cannot be planned: Failed, with an Invalid condition saying why."""
        now = iso(self.c.clock())
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
            await self.c.kube.patch_status("materializations", key[0], key[1], status)
        except ApiError as error:
            logger.warning("cannot write the status of %s/%s: %s", key[0], key[1], error)
            return
        involved = {
            "apiVersion": "kasset.io/v1alpha1",
            "kind": "Materialization",
            "name": key[1],
            "namespace": key[0],
            "uid": metadata.get("uid"),
        }
        from kasset.operator.model.k8s_events import build_event

        body = build_event(
            involved, Reason.RUN_INVALID, message, self.c.clock(), self.c.config.instance
        )
        try:
            await self.c.kube.create_event(key[0], body)
        except ApiError as error:
            logger.debug("cannot create an Event: %s", error)
