"""Kubernetes Events about runs, built and sent in one place.

Step Events go through the per-run `EventBudget` (a backfill announces its first steps,
then one Event per interval that counts the rest); run Events always go. Events are
informational: a failed send is logged at debug level, never retried or raised.
"""

from __future__ import annotations

import logging
from typing import Any

from kasset.operator.kube.client import ApiError
from kasset.operator.model.k8s_events import (
    EventBudget,
    Reason,
    about_materialization,
    build_event,
)
from kasset.operator.model.records import RunRecord
from kasset.operator.runs.ports import Ports

__all__ = ["Announcer"]

logger = logging.getLogger(__name__)

_STEP_REASONS = frozenset({Reason.STEP_SUCCEEDED, Reason.STEP_FAILED, Reason.STEP_RETRYING})


class Announcer:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.budget = EventBudget()

    def announce(self, record: RunRecord, reason: str, message: str) -> None:
        """Sends an Event about `record` in the background (step Events within budget)."""
        fact = message
        if reason in _STEP_REASONS:
            held = self.budget.admit((record.uid, reason), self.ports.clock())
            if held is None:
                self.ports.metrics.k8s_event_suppressed("budget")
                return
            if held:
                message = f"{message} (+{held} similar not announced)"
        body = self._build(record.namespace, record.name, record.uid, reason, message, fact)
        self.ports.spawn(self.send(record.namespace, body))

    def finished(self, record: RunRecord) -> None:
        """The run finished: its step budgets are dropped."""
        self.budget.forget(record.uid)

    async def announce_now(
        self, namespace: str, name: str, uid: object, reason: str, message: str
    ) -> None:
        """Sends an Event about a Materialization that has no record (it cannot be run)."""
        await self.send(namespace, self._build(namespace, name, uid, reason, message, None))

    def _build(
        self, namespace: str, name: str, uid: object, reason: str, message: str, fact: str | None
    ) -> dict[str, Any]:
        involved = about_materialization(namespace, name, uid)
        clock, instance = self.ports.clock(), self.ports.config.instance
        return build_event(involved, reason, message, clock, instance, identity=fact)

    async def send(self, namespace: str, body: dict[str, Any]) -> None:
        try:
            await self.ports.kube.create_event(namespace, body)
        except ApiError as error:
            logger.debug("cannot create an Event: %s", error)
