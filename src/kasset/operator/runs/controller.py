"""The run controller: where watch events about Materializations and AssetGraphs enter,
and where its parts are built and wired. One in-memory record per Materialization, driven
by the pure plan.

    watch / ingest  ->  Controller (this module: graphs, Materialization events)
                         |-> Starter    plan or resume a run            (starting.py)
                         |-> Intake     pods and step events            (intake.py)
                              -> Advancer   plan.advance, apply actions (advancing.py)
                                   -> Launcher      pods, step/run reports (launching.py)
                                   -> StatusWriter  batched status writes  (statuswriter.py)
                                        -> Janitor  TTL and historyLimit   (janitor.py)

Each part gets `Ports` (API client, timers, metrics, clock, settings, spawn) and the
`RunTable`, plus the parts below it; the launcher and the writer each report up through
one callback. Everything runs on kopf's event loop; no locks needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kasset.errors import DefinitionError
from kasset.operator.assets.book import AssetBook
from kasset.operator.kube.client import Kube
from kasset.operator.model.graphs import GraphSnapshot, snapshot_from_body
from kasset.operator.model.records import RunKey
from kasset.operator.model.timers import Timers
from kasset.operator.runs.advancing import Advancer
from kasset.operator.runs.announcing import Announcer
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.runs.intake import Intake
from kasset.operator.runs.janitor import Janitor
from kasset.operator.runs.launching import Launcher
from kasset.operator.runs.ports import Ports, RunTable, Tasks
from kasset.operator.runs.starting import Starter
from kasset.operator.runs.statuswriter import StatusWriter
from kasset.operator.telemetry.sink import MetricsSink, NullMetrics
from kasset.resources import RunPhase

__all__ = ["Controller"]

logger = logging.getLogger(__name__)

_FINISHED = frozenset(phase.value for phase in RunPhase if phase.finished)


class Controller:
    """Runs Materializations: the parts, wired, and the watch events they start from."""

    def __init__(
        self,
        kube: Kube,
        config: ControllerConfig,
        metrics: MetricsSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tasks = Tasks()
        self.timers = Timers()
        self.config = config
        self.ports = Ports(
            kube, self.timers, metrics or NullMetrics(), clock, config, self.tasks.spawn
        )
        self.table = RunTable()
        ports, table = self.ports, self.table
        self.assets = AssetBook(
            kube, self.timers, ports.metrics, clock, ports.spawn, config.asset_interval
        )
        announcer = Announcer(ports)
        self.janitor = Janitor(ports, table)
        # The two callbacks up are late-bound: the intake and the advancer are built below.
        self.launcher = Launcher(
            ports,
            table,
            self.assets,
            announcer,
            report=lambda record, news: self.intake.attempt_news(record, news),  # noqa: PLW0108
        )
        self.writer = StatusWriter(
            ports,
            table,
            self.assets,
            self.janitor,
            announcer,
            gone=lambda key: self.advancer.forget(key, delete_pods=True),
        )
        self.advancer = Advancer(ports, table, self.launcher, self.writer)
        self.intake = Intake(table, self.advancer, self.launcher, self.assets)
        self.starter = Starter(
            ports,
            table,
            self.intake,
            self.advancer,
            self.launcher,
            self.writer,
            announcer,
            self.assets,
        )

    # ---- time and background work ----------------------------------------------------

    async def drain(self) -> None:
        """Waits until no background work is left (tests, graceful shutdown)."""
        await self.tasks.drain()

    def fire_due(self) -> None:
        """Fires every timer due now (tests drive time with a fake clock)."""
        for key in self.timers.due(self.ports.clock()):
            self.timers.fire(key)

    async def run_timers(self) -> None:
        await self.timers.run(self.ports.clock)

    # ---- AssetGraphs -------------------------------------------------------------------

    def on_graph(self, body: Mapping[str, Any], event_type: str | None) -> GraphSnapshot | None:
        """Caches the graph for planning; returns it, or None if deleted or invalid."""
        metadata = body.get("metadata") or {}
        ident = (str(metadata.get("namespace")), str(metadata.get("name")))
        if event_type == "DELETED":
            self.table.graphs.pop(ident, None)
            return None
        try:
            snapshot = snapshot_from_body(body)
        except DefinitionError:
            self.table.graphs.pop(ident, None)
            return None
        self.table.graphs[ident] = snapshot
        return snapshot

    # ---- Materializations ----------------------------------------------------------

    async def on_materialization(self, body: Mapping[str, Any], event_type: str | None) -> None:
        """Creates, resumes, updates, cancels or forgets a run (a watch event)."""
        started = self.ports.clock()
        metadata = body.get("metadata") or {}
        key: RunKey = (str(metadata.get("namespace")), str(metadata.get("name")))
        if event_type == "DELETED" or metadata.get("deletionTimestamp"):
            self.advancer.forget(key, delete_pods=True)
            self.janitor.forget(key)
            return
        record = self.table.get(key)
        if record is not None:
            self.advancer.update(record, body)
            return
        if key in self.table.restoring:
            return
        status = body.get("status") or {}
        if status.get("phase") in _FINISHED:
            self.janitor.remember(body)
            return
        try:
            await self.starter.start(key, body)
        finally:
            self.ports.metrics.reconcile_latency("materialization", self.ports.clock() - started)
