"""Starting a run: plan a new Materialization, or resume one after an operator restart
from its status and its pods, then hand it to the `Advancer`. Events that arrive while a
run is being started wait in `RunTable.restoring` and are replayed after.

A run that cannot be planned (unknown graph, bad selection or partitions, too many steps)
is marked Failed with an Invalid condition; nothing here raises on user mistakes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kasset import naming
from kasset.definitions.keys import StepKey
from kasset.errors import DefinitionError
from kasset.operator.assets.book import AssetBook
from kasset.operator.model.graphs import GraphSnapshot, parse_spec, plan_run, snapshot_from_body
from kasset.operator.model.k8s_events import Reason
from kasset.operator.model.records import RunKey, RunRecord
from kasset.operator.model.reports import CheckOutcome
from kasset.operator.model.restore import restore_run
from kasset.operator.model.status import parse_time
from kasset.operator.runs.advancing import Advancer
from kasset.operator.runs.announcing import Announcer
from kasset.operator.runs.intake import Intake
from kasset.operator.runs.launching import Launcher
from kasset.operator.runs.ports import Ports, RunTable
from kasset.operator.runs.statuswriter import StatusWriter
from kasset.plan import Cancel, RunState, StepPhase
from kasset.resources.materialization import MaterializationSpec, MaterializationStatus

__all__ = ["Starter"]

logger = logging.getLogger(__name__)
_ACTIVE = ("Running", "Pending")


class Starter:
    def __init__(
        self,
        ports: Ports,
        table: RunTable,
        intake: Intake,
        advancer: Advancer,
        launcher: Launcher,
        writer: StatusWriter,
        announcer: Announcer,
        assets: AssetBook,
    ) -> None:
        self.ports, self.table, self.intake, self.advancer = ports, table, intake, advancer
        self.launcher, self.writer, self.announcer, self.assets = (
            launcher,
            writer,
            announcer,
            assets,
        )

    async def graph_for(self, namespace: str, name: str) -> GraphSnapshot:
        """The cached graph, else read from the API (startup order is not guaranteed)."""
        cached = self.table.graphs.get((namespace, name))
        if cached is not None:
            return cached
        body = await self.ports.kube.get_object("assetgraphs", namespace, name)
        if body is None:
            raise DefinitionError(f"AssetGraph '{name}' not found in namespace '{namespace}'")
        try:
            snapshot = snapshot_from_body(body)
        except DefinitionError as error:
            raise DefinitionError(f"AssetGraph '{name}' is invalid: {error}") from None
        self.table.graphs[(namespace, name)] = snapshot
        return snapshot

    async def start(self, key: RunKey, body: Mapping[str, Any]) -> None:
        """Plans (or resumes) the run; events that arrive meanwhile are replayed after."""
        self.table.restoring[key] = []
        try:
            await self._start(key, body)
        finally:
            for replay in self.table.restoring.pop(key, []):
                replay()

    async def _start(self, key: RunKey, body: Mapping[str, Any]) -> None:
        metadata = body.get("metadata") or {}
        namespace, name = key
        try:
            spec: MaterializationSpec = parse_spec(
                MaterializationSpec, dict(body.get("spec") or {}), "spec"
            )
            graph = await self.graph_for(namespace, spec.graph)
            now = datetime.fromtimestamp(self.ports.clock(), UTC)
            plan = plan_run(graph, spec, now, self.ports.config.infra_retries)
        except DefinitionError as error:
            await self.writer.write_invalid(key, metadata, str(error))
            return
        record = RunRecord(
            namespace=namespace,
            name=name,
            uid=str(metadata.get("uid") or ""),
            generation=int(metadata.get("generation") or 0),
            graph=graph,
            state=RunState(plan),
            created_at=parse_time(metadata.get("creationTimestamp")) or self.ports.clock(),
            launched_by=spec.launched_by,
            ttl_seconds=spec.ttl_seconds_after_finished,
        )
        status = body.get("status") or {}
        relaunch: list[tuple[StepKey, int]] = []
        pods: list[Mapping[str, Any]] = []
        if status.get("phase") in _ACTIVE and any(
            status.get(field) for field in ("assets", "steps", "startTime")
        ):
            relaunch, pods = await self._restore(record, status)
        else:
            record.start_time = self.ports.clock()
            message = f"planned {len(plan)} step(s) of graph {graph.name}"
            self.announcer.announce(record, Reason.RUN_STARTED, message)
        self.table.runs[key] = record
        if spec.cancel:
            self.advancer.step_event(record, Cancel("canceled: spec.cancel is true"))
        for step, attempt in relaunch:
            self.launcher.launch(record, step, attempt, trigger=None)
        for pod in pods:
            self.intake.fold_pod(record, pod, deleted=False)
        self.advancer.step_event(record, None)

    async def _restore(
        self, record: RunRecord, status_body: Mapping[str, Any]
    ) -> tuple[list[tuple[StepKey, int]], list[Mapping[str, Any]]]:
        try:
            status = MaterializationStatus.model_validate(dict(status_body))
        except ValueError:
            status = MaterializationStatus()
        selector = f"kasset.io/run={naming.label_value(record.name)}"
        pods = await self.ports.kube.list_pods(record.namespace, selector)
        partitions = {k: n.partitions for k, n in record.graph.graph.nodes.items()}
        restored = restore_run(record.state.plan, status, pods, partitions)
        record.state = restored.state
        record.start_time = restored.start_time or self.ports.clock()
        for step, detail in restored.details.items():
            info = record.step_info(step)
            info.pod = detail.get("pod") or info.pod
            info.first_started_at = detail.get("start")
            info.metadata = dict(detail.get("metadata") or {})
            for name, passed, severity in detail.get("checks") or []:
                info.checks[name] = CheckOutcome(name, passed, severity)
            record.touch(step)
        record.touch_all()
        self._replay_assets(record, restored.details)
        logger.info("resumed run %s/%s: %s", record.namespace, record.name, record.state.counts())
        return restored.relaunch, restored.pods

    def _replay_assets(self, record: RunRecord, details: Mapping[StepKey, Any]) -> None:
        """Redoes the Asset records of finished steps, in case the crash lost them (see
        `kasset.operator.assets.book`); what was written already stays as it is."""
        floor = record.start_time or self.ports.clock()
        for step, current in record.state.steps.items():
            where = (
                record.namespace,
                record.graph,
                step.asset,
                record.name,
                step.partition,
                current.ended_at or floor,
            )
            if current.phase is StepPhase.SUCCEEDED:
                metadata = dict((details.get(step) or {}).get("metadata") or {})
                self.assets.replay_materialized(*where, metadata)
            elif current.phase is StepPhase.FAILED:
                self.assets.replay_failed(*where, current.message)
