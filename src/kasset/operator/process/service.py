"""The operator process's parts wired together: API client, controller, AssetGraph
reconciler, schedules, timers and the HTTP server, with their start and stop.

kopf handlers (handlers.py) call into an `OperatorService`; so do tests that run the
operator in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

from kasset.operator.assets.assetgraphs import AssetGraphReconciler, needs_reconcile
from kasset.operator.assets.schedules import ScheduleLoop
from kasset.operator.kube.client import ApiError, Kube
from kasset.operator.model.storage import StorageDefaults
from kasset.operator.process.app import OperatorServer, build_app
from kasset.operator.process.options import OperatorOptions
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.runs.controller import Controller
from kasset.operator.telemetry.sink import MetricsSink

__all__ = ["OperatorService", "event_secret"]

logger = logging.getLogger(__name__)


def event_secret(env: Mapping[str, str]) -> bytes:
    """`$KASSET_EVENT_SECRET`, else a random one (with a warning: tokens held by pods
    started before a restart stop validating; their termination messages still count)."""
    value = env.get("KASSET_EVENT_SECRET")
    if value:
        return value.encode()
    logger.warning("KASSET_EVENT_SECRET is not set: using a random event secret")
    return secrets.token_bytes(32)


class OperatorService:
    def __init__(
        self,
        options: OperatorOptions,
        kube: Kube,
        metrics: MetricsSink,
        secret: bytes,
        registry: Any = None,
        instance: str = "",
    ) -> None:
        self.options, self.kube, self.metrics = options, kube, metrics
        self.registry = registry
        self.controller = Controller(
            kube,
            ControllerConfig(
                event_url=options.event_url,
                secret=secret,
                max_running=options.max_running,
                pending_timeout=options.pending_timeout,
                infra_retries=options.infra_retries,
                status_interval=options.status_interval,
                asset_interval=options.asset_interval,
                step_events=options.step_events,
                instance=instance,
                storage_defaults=StorageDefaults.from_env(os.environ),
            ),
            metrics,
            clock=time.time,
        )
        self.reconciler = AssetGraphReconciler(kube, self.controller.assets.object_created)
        self.schedules = ScheduleLoop(
            kube,
            lambda: list(self.controller.table.graphs.values()),
            metrics,
            options.schedule_missed_window,
        )
        self.secret = secret
        self.server: OperatorServer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ---- watch events

    async def on_graph(self, body: Mapping[str, Any], event_type: str | None) -> None:
        started = time.time()
        snapshot = self.controller.on_graph(body, event_type)
        if event_type == "DELETED":
            return
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        self.schedules.graph_status(
            namespace, name, list((body.get("status") or {}).get("schedules") or [])
        )
        if needs_reconcile(body):
            try:
                await self.reconciler.reconcile(body, time.time())
            except ApiError as error:
                logger.warning("cannot reconcile AssetGraph %s/%s: %s", namespace, name, error)
        if snapshot is not None:
            self.controller.janitor.enforce_history(namespace, name)
        self.metrics.reconcile_latency("assetgraph", time.time() - started)

    async def on_materialization(self, body: Mapping[str, Any], event_type: str | None) -> None:
        await self.controller.on_materialization(body, event_type)

    async def on_pod(self, body: Mapping[str, Any], event_type: str | None) -> None:
        await self.controller.intake.on_pod(body, event_type)

    # ---- lifecycle

    async def start(self) -> None:
        """Restores every run before serving: the ingest endpoint is ready only then."""
        namespaces = list(self.options.namespaces) or [""]
        for namespace in namespaces:
            for graph in await self.kube.list_objects("assetgraphs", namespace):
                self.controller.on_graph(graph, None)
        for namespace in namespaces:
            for run in await self.kube.list_objects("materializations", namespace):
                await self.controller.on_materialization(run, None)
        self.controller.table.ready = True
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self.controller.run_timers()),
            loop.create_task(self.schedules.run()),
        ]
        app = build_app(
            self.controller.intake,
            self.secret,
            self.metrics,
            self.registry,
            namespaces=self.options.namespaces,
        )
        self.server = OperatorServer(app, self.options.host, self.options.port)
        await self.server.start()
        logger.info(
            "operator ready: %d run(s) resumed, serving on %s:%d",
            len(self.controller.table.runs),
            self.options.host,
            self.options.port,
        )

    async def stop(self) -> None:
        """Graceful: stop accepting events, write pending status, stop the timers."""
        if self.server is not None:
            await self.server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.controller.writer.flush_all(), 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.controller.drain(), 10)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
