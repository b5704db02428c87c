"""Folding what steps report into their runs: pod states from the watch, and step events
from the ingest endpoint or termination messages, turned into plan events for the
`Advancer` below. It is also what the ingest endpoint talks to (`EventIngestSink`).

Events are deduplicated by id per run, and only the attempt that is running counts, so
an HTTP event followed by the same event in the termination message, or a late event of
an earlier attempt, changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kasset.definitions.keys import StepKey
from kasset.errors import DefinitionError
from kasset.operator.assets.book import AssetBook
from kasset.operator.model.podstate import pod_identity, read_pod
from kasset.operator.model.records import RunKey, RunRecord, is_current
from kasset.operator.model.reports import EventType, ReportedEvent, to_reported
from kasset.operator.runs.advancing import Advancer
from kasset.operator.runs.launching import AttemptNews, Launcher, PodAdopted
from kasset.operator.runs.ports import RunTable
from kasset.plan import StepFailed, StepSucceeded

__all__ = ["Intake"]

logger = logging.getLogger(__name__)


class Intake:
    def __init__(
        self, table: RunTable, advancer: Advancer, launcher: Launcher, assets: AssetBook
    ) -> None:
        self.table, self.advancer, self.launcher, self.assets = table, advancer, launcher, assets

    # ---- what the ingest endpoint asks (`EventIngestSink`)

    def ready(self) -> bool:
        """Whether runs were restored after a (re)start: the ingest endpoint waits."""
        return self.table.ready

    def namespace_of(self, run: str) -> str | None:
        return self.table.namespace_of(run)

    def attempt_news(self, record: RunRecord, news: AttemptNews) -> None:
        """What the launcher reports about an attempt: folded like a pod or a failure."""
        if isinstance(news, PodAdopted):
            self.fold_pod(record, news.pod, deleted=False)
        else:
            self.advancer.step_event(record, news)

    async def on_pod(self, body: Mapping[str, Any], event_type: str | None) -> None:
        ident = pod_identity(body)
        if ident is None:
            return
        key = (ident.namespace, ident.run)
        if key in self.table.restoring:
            self.table.restoring[key].append(lambda: self._pod_now(key, body, event_type))
            return
        self._pod_now(key, body, event_type)

    def _pod_now(self, key: RunKey, body: Mapping[str, Any], event_type: str | None) -> None:
        record = self.table.runs.get(key)
        if record is not None:
            self.fold_pod(record, body, deleted=event_type == "DELETED")

    def fold_pod(self, record: RunRecord, body: Mapping[str, Any], deleted: bool) -> None:
        ident = pod_identity(body)
        if ident is None or not is_current(record, ident.step, ident.attempt):
            return
        view = read_pod(body, deleted)
        step, attempt = ident.step, ident.attempt
        if view.state == "pending":
            self.launcher.pending(record, step, attempt, view)
            return
        if view.state == "running":
            self.launcher.started(record, step, attempt)
            return
        for event in view.events:
            self.fold_report(record, event)
        if not is_current(record, step, attempt):
            return  # the termination message said how it ended
        if view.state == "succeeded":
            self.succeed(record, step, attempt)
        else:
            message = view.message or "the step failed"
            failed = StepFailed(step, attempt, message, view.retryable, view.infrastructure)
            self.advancer.step_event(record, failed)

    async def submit_events(self, namespace: str, run: str, events: Sequence[Any]) -> None:
        reported = []
        for event in events:
            try:
                reported.append(to_reported(event))
            except ValueError as error:
                logger.debug("dropping an event of %s/%s: %s", namespace, run, error)
        key = (namespace, run)
        if key in self.table.restoring:
            self.table.restoring[key].append(lambda: self._fold_all(key, reported))
            return
        self._fold_all(key, reported)

    def _fold_all(self, key: RunKey, events: list[ReportedEvent]) -> None:
        record = self.table.runs.get(key)
        if record is None:
            logger.debug("events for unknown run %s/%s ignored", *key)
            return
        for event in events:
            self.fold_report(record, event)

    def fold_report(self, record: RunRecord, event: ReportedEvent) -> None:
        if not record.seen.add(event.id):
            return
        try:
            step = StepKey.from_string(event.step)
        except DefinitionError:
            return
        if not is_current(record, step, event.attempt):
            return
        info = record.step_info(step)
        kind = event.type
        if kind == EventType.STEP_STARTED:
            self.launcher.started(record, step, event.attempt)
        elif kind == EventType.ASSET_MATERIALIZED:
            info.metadata = dict(event.metadata)
            record.dirty = True
            self.assets.materialized(
                record.namespace,
                record.graph,
                step.asset,
                record.name,
                step.partition,
                info.metadata,
                event.data_version,
            )
        elif kind == EventType.ASSET_CHECK_EVALUATED and event.check is not None:
            info.checks[event.check.name] = event.check
            record.dirty = True
            node = record.graph.graph.nodes[step.asset]
            blocking = {check.name for check in node.checks if check.blocking}
            if not event.check.passed and event.check.name in blocking:
                info.blocking_failure = info.blocking_failure or event.check.name
            self.assets.check(
                record.namespace,
                record.graph,
                step.asset,
                record.name,
                step.partition,
                event.check,
                dict(event.metadata),
            )
        elif kind == EventType.STEP_SUCCEEDED:
            self.succeed(record, step, event.attempt)
        elif kind == EventType.STEP_FAILED:
            message = event.error or "the step failed"
            failed = StepFailed(step, event.attempt, message, event.retryable, event.interrupted)
            self.advancer.step_event(record, failed)

    def succeed(self, record: RunRecord, step: StepKey, attempt: int) -> None:
        """A success, unless a blocking check failed: then a failure that is not retried."""
        check = record.step_info(step).blocking_failure
        if check is not None:
            message = f"blocking check '{check}' failed"
            self.advancer.step_event(record, StepFailed(step, attempt, message, retryable=False))
        else:
            self.advancer.step_event(record, StepSucceeded(step, attempt))
