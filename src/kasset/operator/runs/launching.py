"""Applying the plan's actions to pods: create a step's pod (adopting one that already
exists), stop it, notice it started or is stuck pending, and report finished steps and
runs as Kubernetes Events and metrics.

Below the controller: it is given `Ports`, the `RunTable`, the Asset book and the
announcer, and reports back up through one callback, `report(record, news)`, with news
about an attempt it owns: the attempt failed (`StepFailed`: the pod could not be created,
cannot start, or stayed pending too long), or its pod already existed (`PodAdopted`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kasset import naming
from kasset.definitions.keys import StepKey
from kasset.operator.assets.book import AssetBook
from kasset.operator.kube.client import ApiError
from kasset.operator.model.auth import step_token
from kasset.operator.model.k8s_events import Reason
from kasset.operator.model.pods import build_step_pod, owner_reference
from kasset.operator.model.podstate import PodView
from kasset.operator.model.records import RunKey, RunRecord, is_current
from kasset.operator.model.status import parse_time
from kasset.operator.runs.announcing import Announcer
from kasset.operator.runs.ports import Ports, RunTable
from kasset.plan import FinishRun, RunPhase, StepFailed, StepPhase, StepSucceeded, StopStep
from kasset.resources import API_VERSION, MATERIALIZATION_KIND

__all__ = ["AttemptNews", "Launcher", "PendingDeadline", "PodAdopted"]

logger = logging.getLogger(__name__)

_NOT_RETRYABLE = frozenset({400, 404, 422})
_RUN_REASONS = {
    RunPhase.SUCCEEDED: Reason.RUN_SUCCEEDED,
    RunPhase.FAILED: Reason.RUN_FAILED,
    RunPhase.CANCELED: Reason.RUN_CANCELED,
}
_QUOTA_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class PendingDeadline:
    """Timer key: the attempt's pod has been pending for `--pending-timeout`."""

    run: RunKey
    step: StepKey
    attempt: int


@dataclass(frozen=True)
class PodAdopted:
    """The attempt's pod existed already (a resumed run): what it says is to be folded."""

    pod: Mapping[str, Any]


AttemptNews = StepFailed | PodAdopted
"""What the launcher reports up about an attempt it owns."""


class Launcher:
    def __init__(
        self,
        ports: Ports,
        table: RunTable,
        assets: AssetBook,
        announcer: Announcer,
        report: Callable[[RunRecord, AttemptNews], None],
    ) -> None:
        self.ports, self.table, self.assets, self.announcer = ports, table, assets, announcer
        self.report = report
        ports.timers.on(PendingDeadline, self.pending_expired)

    # ---- launching -------------------------------------------------------------------

    def launch(self, record: RunRecord, step: StepKey, attempt: int, trigger: float | None) -> None:
        info = record.step_info(step)
        info.pod = naming.step_pod_name(record.name, step.to_string(), attempt)
        info.pod_created_at = None
        info.started_reported = False
        info.pending_reason = None
        info.blocking_failure = None
        info.checks.clear()
        info.launch_trigger_at = trigger
        if info.first_started_at is None:
            info.first_started_at = self.ports.clock()
        record.touch(step)
        self.ports.metrics.step_started(record.graph.name, step.asset.to_string())
        self.ports.spawn(self._create(record, step, attempt))

    def pod_manifest(self, record: RunRecord, step: StepKey, attempt: int) -> dict[str, Any]:
        config = self.ports.config
        token = None
        if config.event_url:
            token = step_token(
                config.secret, record.namespace, record.name, step.to_string(), attempt
            )
        return build_step_pod(
            record.graph.spec,
            record.graph.assets[step.asset],
            namespace=record.namespace,
            graph=record.graph.name,
            run=record.name,
            step=step,
            attempt=attempt,
            event_url=config.event_url,
            token=token,
            owner=owner_reference(API_VERSION, MATERIALIZATION_KIND.kind, record.name, record.uid),
            storage_defaults=config.storage_defaults,
        )

    async def _create(self, record: RunRecord, step: StepKey, attempt: int) -> None:
        body = self.pod_manifest(record, step, attempt)
        deadline = self.ports.clock() + self.ports.config.pending_timeout
        backoff = iter(_QUOTA_BACKOFF)
        while True:
            try:
                pod, created = await self.ports.kube.create_pod(record.namespace, body)
                break
            except ApiError as error:
                quota = error.status == 403 and "quota" in error.message.lower()
                delay = next(backoff, _QUOTA_BACKOFF[-1])
                if (
                    quota
                    and self.ports.clock() + delay < deadline
                    and self._current(record, step, attempt)
                ):
                    await asyncio.sleep(delay)  # wait for quota like a pending pod would
                    continue
                if self._current(record, step, attempt):
                    message = f"cannot create the step's pod: {error.message}"
                    retryable = error.status not in _NOT_RETRYABLE
                    # No answer, throttled or a server error: the API server's trouble.
                    lost = error.status in (0, 429) or error.status >= 500
                    self.report(record, StepFailed(step, attempt, message, retryable, lost))
                return
        now = self.ports.clock()
        if not self._current(record, step, attempt):
            # Canceled, timed out or forgotten while the create was in flight.
            await self.delete_pod(record.namespace, body["metadata"]["name"])
            return
        info = record.step_info(step)
        created_at = now if created else parse_time(pod["metadata"].get("creationTimestamp"))
        info.pod_created_at = created_at or now
        if info.launch_trigger_at is not None:
            self.ports.metrics.inter_step_gap(now - info.launch_trigger_at)
            info.launch_trigger_at = None
        if not info.started_reported:
            self.ports.timers.schedule(
                PendingDeadline(record.key, step, attempt),
                info.pod_created_at + self.ports.config.pending_timeout,
            )
        if not created:
            self.report(record, PodAdopted(pod))  # it may be far along

    def _current(self, record: RunRecord, step: StepKey, attempt: int) -> bool:
        return self.table.is_live(record) and is_current(record, step, attempt)

    # ---- pod states ------------------------------------------------------------------

    def started(self, record: RunRecord, step: StepKey, attempt: int) -> None:
        info = record.step_info(step)
        info.pending_reason = None
        self.ports.timers.cancel(PendingDeadline(record.key, step, attempt))
        if not info.started_reported:
            info.started_reported = True
            if info.pod_created_at is not None:
                self.ports.metrics.pod_start_latency(
                    max(0.0, self.ports.clock() - info.pod_created_at)
                )

    def pending(self, record: RunRecord, step: StepKey, attempt: int, view: PodView) -> None:
        info = record.step_info(step)
        if view.message:
            info.pending_reason = view.message
        if info.pod_created_at is None:
            info.pod_created_at = parse_time(view.created_at)
        if info.pod_created_at is not None and not info.started_reported:
            deadline = info.pod_created_at + self.ports.config.pending_timeout
            self.ports.timers.schedule(PendingDeadline(record.key, step, attempt), deadline)
        if view.fatal:
            message = f"the step's pod cannot start: {view.message}"
            self._fail_and_delete(record, step, attempt, message, retryable=False)

    def pending_expired(self, due: PendingDeadline) -> None:
        record, step, attempt = self.table.get(due.run), due.step, due.attempt
        if record is None or not self._current(record, step, attempt):
            return
        info = record.step_info(step)
        if info.started_reported:
            return
        timeout = self.ports.config.pending_timeout
        why = info.pending_reason or "the pod was not scheduled or its container did not start"
        self._fail_and_delete(
            record, step, attempt, f"the step's pod was pending for {timeout:g}s: {why}", True
        )

    def _fail_and_delete(
        self, record: RunRecord, step: StepKey, attempt: int, message: str, retryable: bool
    ) -> None:
        pod = naming.step_pod_name(record.name, step.to_string(), attempt)
        self.report(record, StepFailed(step, attempt, message, retryable))
        self.ports.spawn(self.delete_pod(record.namespace, pod))

    # ---- stopping and reporting ----------------------------------------------------

    def stop(self, record: RunRecord, action: StopStep, now: float) -> None:
        pod = naming.step_pod_name(record.name, action.step.to_string(), action.attempt)
        self.ports.timers.cancel(PendingDeadline(record.key, action.step, action.attempt))
        self.ports.spawn(self.delete_pod(record.namespace, pod))
        current = record.state.steps[action.step]
        record.touch(action.step)
        if current.phase is not StepPhase.CANCELED:  # a deadline: report it like a failure
            failed = StepFailed(action.step, action.attempt, action.reason)
            self.step_finished(record, action.step, failed, now)

    async def delete_pod(self, namespace: str, name: str) -> None:
        try:
            await self.ports.kube.delete_pod(
                namespace, name, self.ports.config.delete_grace_seconds
            )
        except ApiError as error:
            logger.warning("cannot delete pod %s/%s: %s", namespace, name, error)

    def step_finished(
        self, record: RunRecord, step: StepKey, event: StepSucceeded | StepFailed, now: float
    ) -> None:
        """Bookkeeping, Event and metrics of an attempt that just ended."""
        current = record.state.steps[step]
        record.touch(step)
        self.ports.timers.cancel(PendingDeadline(record.key, step, event.attempt))
        started = current.started_at if current.started_at is not None else now
        graph, asset = record.graph.name, step.asset.to_string()
        if current.phase is StepPhase.SUCCEEDED:
            outcome, reason = "succeeded", Reason.STEP_SUCCEEDED
            message = f"step {step} succeeded (attempt {event.attempt})"
        elif current.phase is StepPhase.PENDING or current.attempts > event.attempt:
            # A retry without delay is relaunched by the same `advance`: already running.
            outcome, reason = "retried", Reason.STEP_RETRYING
            delay = (current.retry_at or now) - now
            why = ""
            if isinstance(event, StepFailed) and event.infrastructure:
                used, budget = current.infra_retries, record.state.plan.infra_retries
                why = f" (not the code's fault: {used} of {budget} free retries used)"
            message = (
                f"step {step} attempt {event.attempt} failed, retrying in {delay:g}s{why}: "
                f"{current.message}"
            )
        else:
            outcome, reason = "failed", Reason.STEP_FAILED
            message = f"step {step} failed (attempt {event.attempt}): {current.message}"
            record.touch_downstream(step)
            self.assets.failed(
                record.namespace,
                record.graph,
                step.asset,
                record.name,
                step.partition,
                current.message,
            )
        self.ports.metrics.step_finished(graph, asset, outcome, max(0.0, now - started))
        if self.ports.config.step_events == "all" or outcome != "succeeded":
            self.announcer.announce(record, reason, message)

    def finish(self, record: RunRecord, action: FinishRun, now: float) -> None:
        record.completion_time = now
        record.touch_all()
        if record.key in self.table.waiting:
            self.table.waiting.remove(record.key)
        if record.finish_reported:
            return
        record.finish_reported = True
        started = record.start_time if record.start_time is not None else now
        self.ports.metrics.run_finished(record.graph.name, action.phase.value, now - started)
        reason = _RUN_REASONS.get(action.phase, Reason.RUN_FAILED)
        self.announcer.announce(record, reason, action.message)
        self.announcer.finished(record)
        done = {k.asset for k, s in record.state.steps.items() if s.phase is StepPhase.SUCCEEDED}
        if done:
            self.assets.mark_stale(record.namespace, record.graph, done)
