"""The status of Asset objects: what materializations and checks left behind.

Each asset's changes are kept in memory and written as one merge patch at most every
~1 s (debounced per asset), so a partitioned backfill of thousands of steps costs a few
writes per asset, not one per step. Partition sets are compact range strings.

What the status says (health, merging) is decided in `kasset.operator.model.assetstate`.

The Materialization status is the durable record; Asset status is derived from it, so it
must never lag behind it across a crash. Two rules keep it so: a run's final status is
written only after the Asset changes of that run are (`settle`), and a run resumed after a
restart replays the steps its status says finished (`replay_materialized`,
`replay_failed`): an asset write lost in the crash is redone, one that landed is kept
(the stored status is merged by time, and a replay never displaces what the same run or a
newer one recorded). An Asset whose merged status equals what is stored is not written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kasset.definitions.keys import AssetKey
from kasset.errors import DefinitionError
from kasset.operator.kube.client import ApiError, Kube
from kasset.operator.model.assetstate import (
    AssetEntry,
    apply_replays,
    build_asset_status,
    clean,
    failure,
    materialization,
    merge_stored,
    newest,
)
from kasset.operator.model.graphs import GraphSnapshot
from kasset.operator.model.reports import CheckOutcome
from kasset.operator.model.status import iso
from kasset.operator.model.timers import Timers
from kasset.operator.telemetry.sink import MetricsSink

__all__ = ["AssetBook", "AssetFlushDue"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetFlushDue:
    """Timer key: the Asset's status is due for a write."""

    namespace: str
    graph: str
    key: AssetKey


class AssetBook:
    """Asset status changes, kept per asset and flushed debounced."""

    def __init__(
        self,
        kube: Kube,
        timers: Timers,
        metrics: MetricsSink,
        clock: Callable[[], float],
        spawn: Callable[[Any], None],
        interval: float = 1.0,
    ) -> None:
        self.kube, self.timers, self.metrics, self.clock = kube, timers, metrics, clock
        self.spawn = spawn
        self.interval = interval
        self.entries: dict[tuple[str, str, AssetKey], AssetEntry] = {}
        timers.on(AssetFlushDue, self.fire)

    def entry(self, namespace: str, graph: GraphSnapshot, key: AssetKey) -> AssetEntry:
        ident = (namespace, graph.name, key)
        found = self.entries.get(ident)
        if found is None:
            found = self.entries[ident] = AssetEntry(namespace, graph, key)
        found.graph = graph
        return found

    def materialized(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        metadata: dict[str, str],
        data_version: str | None,
    ) -> None:
        now = self.clock()
        entry = self.entry(namespace, graph, key)
        entry.latest = materialization(run, partition, now, metadata, data_version)
        entry.stale = False
        entry.note_materialized(partition)
        self.metrics.asset_materialized(graph.name, key.to_string(), now)
        self._dirty(entry)

    def failed(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        message: str | None,
    ) -> None:
        entry = self.entry(namespace, graph, key)
        entry.last_failure = failure(run, partition, self.clock(), message)
        entry.note_failed(partition)
        self._dirty(entry)

    def check(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        outcome: CheckOutcome,
        metadata: dict[str, str],
    ) -> None:
        entry = self.entry(namespace, graph, key)
        entry.checks[outcome.name] = clean(
            {
                "name": outcome.name,
                "passed": outcome.passed,
                "severity": outcome.severity if outcome.severity in ("ERROR", "WARN") else "ERROR",
                "time": iso(self.clock()),
                "run": run,
                "partition": partition,
                "metadata": dict(metadata) or None,
            }
        )
        self._dirty(entry)

    def mark_stale(
        self, namespace: str, graph: GraphSnapshot, materialized: Iterable[AssetKey]
    ) -> None:
        """After a run: direct children of what it materialized, that it did not
        rematerialize, are now older than their upstream."""
        done = set(materialized)
        children = {c for key in done if key in graph.graph for c in graph.graph.children(key)}
        for child in children - done:
            entry = self.entry(namespace, graph, child)
            if not entry.stale:
                entry.stale = True
                self._dirty(entry)

    def _dirty(self, entry: AssetEntry) -> None:
        entry.dirty = True
        if not entry.flushing:
            at = max(self.clock(), entry.last_flush_at + self.interval)
            self.timers.schedule(AssetFlushDue(entry.namespace, entry.graph.name, entry.key), at)

    def fire(self, due: AssetFlushDue) -> None:
        """A timer of ours is due: flush that asset."""
        entry = self.entries.get((due.namespace, due.graph, due.key))
        if entry is not None and entry.dirty and not entry.flushing:
            self.spawn(self.flush(entry))

    def replay_materialized(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        at: float,
        metadata: dict[str, str],
    ) -> None:
        """A resumed run's status says this step succeeded at `at` (see the module doc)."""
        entry = self.entry(namespace, graph, key)
        entry.note_materialized(partition)
        replay = materialization(run, partition, at, metadata)
        entry.replayed_latest = newest(entry.replayed_latest, replay)
        if entry.loaded:
            apply_replays(entry)
        self._dirty(entry)

    def replay_failed(
        self,
        namespace: str,
        graph: GraphSnapshot,
        key: AssetKey,
        run: str,
        partition: str | None,
        at: float,
        message: str | None,
    ) -> None:
        """A resumed run's status says this step failed at `at`."""
        entry = self.entry(namespace, graph, key)
        entry.note_failed(partition)
        replay = failure(run, partition, at, message)
        entry.replayed_failure = newest(entry.replayed_failure, replay)
        if entry.loaded:
            apply_replays(entry)
        self._dirty(entry)

    def object_created(self, namespace: str, graph: str, key: str) -> None:
        """The Asset object now exists: a status that found none before is written."""
        try:
            entry = self.entries.get((namespace, graph, AssetKey.from_string(key)))
        except DefinitionError:
            return
        if entry is not None and entry.missing:
            entry.missing, entry.loaded, entry.stored = False, False, None
            self._dirty(entry)

    async def settle(self, namespace: str, graph: str, keys: Iterable[AssetKey]) -> bool:
        """Writes now whatever is pending for these assets (a finishing run's); False if a
        write failed, so the caller can hold back what must not precede it."""
        entries = [entry for key in keys if (entry := self.entries.get((namespace, graph, key)))]
        results = await asyncio.gather(*(self._settle_one(entry) for entry in entries))
        return all(results)

    async def _settle_one(self, entry: AssetEntry) -> bool:
        while entry.flushing:
            await entry.idle.wait()
        if not entry.dirty:
            return True
        return await self.flush(entry)

    async def flush(self, entry: AssetEntry) -> bool:
        """Writes the entry's status; False if the write failed (it is retried later)."""
        entry.flushing, entry.dirty = True, False
        entry.idle.clear()
        ok = True
        try:
            if not entry.loaded:
                await self._load(entry)
            status = build_asset_status(entry, self.clock())
            if entry.stored is not None and clean(status) == clean(entry.stored):
                return True
            result = await self.kube.patch_status(
                "assets", entry.namespace, entry.object_name, status
            )
            entry.missing = result is None
            if entry.missing:
                logger.debug("asset %s has no object (yet); its status waits", entry.object_name)
            else:
                entry.stored = status
        except ApiError as error:
            logger.warning("cannot write the status of asset %s: %s", entry.object_name, error)
            entry.dirty, ok = True, False
        finally:
            entry.flushing = False
            entry.last_flush_at = self.clock()
            entry.idle.set()
            if entry.dirty:
                self._dirty(entry)
        return ok

    async def _load(self, entry: AssetEntry) -> None:
        """Merges what the object's status already says (from before this process)."""
        body = await self.kube.get_object("assets", entry.namespace, entry.object_name)
        entry.loaded = True
        status = (body or {}).get("status") or {}
        entry.stored = dict(status) if body is not None else None
        merge_stored(entry, status)
