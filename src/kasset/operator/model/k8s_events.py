"""Kubernetes Events that mark run and step transitions, built by pure functions.

core/v1 Events (what `kubectl describe` and `kubectl get events` show) attached to the
Materialization. One Event per finished step at most, and per run and step reason a
budget like client-go's spam filter (`EventBudget`): a 10,000-step backfill announces its
first steps one by one, then one Event per interval that counts the ones it stands for,
instead of 10,000 objects in etcd.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kasset.operator.model.status import iso
from kasset.resources import API_VERSION, MATERIALIZATION_KIND

__all__ = ["COMPONENT", "EventBudget", "Reason", "about_materialization", "build_event"]

COMPONENT = "kasset-operator"


class Reason:
    RUN_STARTED = "RunStarted"
    RUN_SUCCEEDED = "RunSucceeded"
    RUN_FAILED = "RunFailed"
    RUN_CANCELED = "RunCanceled"
    RUN_INVALID = "Invalid"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    STEP_RETRYING = "StepRetrying"
    SCHEDULE_TICK = "ScheduleTick"
    MISSED_TICKS = "MissedTicks"


_WARNINGS = frozenset(
    {
        Reason.RUN_FAILED,
        Reason.STEP_FAILED,
        Reason.STEP_RETRYING,
        Reason.RUN_INVALID,
        Reason.MISSED_TICKS,
    }
)


class EventBudget:
    """Per key (a run's uid and a reason): `burst` Events at once, then one per `interval`
    seconds. `admit` says how many were held back since the last one admitted (to say so
    in its message), or None to hold this one back."""

    def __init__(self, burst: int = 25, interval: float = 10.0) -> None:
        self.burst, self.interval = burst, interval
        self._tokens: dict[tuple[str, str], tuple[float, float, int]] = {}

    def admit(self, key: tuple[str, str], now: float) -> int | None:
        tokens, last, held = self._tokens.get(key, (float(self.burst), now, 0))
        tokens = min(float(self.burst), tokens + (now - last) / self.interval)
        if tokens < 1:
            self._tokens[key] = (tokens, now, held + 1)
            return None
        self._tokens[key] = (tokens - 1, now, 0)
        return held

    def forget(self, uid: str) -> None:
        """Drops the run's budgets (it finished)."""
        for key in [k for k in self._tokens if k[0] == uid]:
            del self._tokens[key]


def about_materialization(namespace: str, name: str, uid: object) -> dict[str, Any]:
    """The `involvedObject` of an Event about a Materialization."""
    return {
        "apiVersion": API_VERSION,
        "kind": MATERIALIZATION_KIND.kind,
        "name": name,
        "namespace": namespace,
        "uid": uid,
    }


def build_event(
    involved: dict[str, Any],
    reason: str,
    message: str,
    now: float,
    instance: str = "",
    identity: str | None = None,
) -> dict[str, Any]:
    """A core/v1 Event about `involved` ({apiVersion, kind, name, namespace, uid}).

    The name is the object's name plus a hash of what makes the Event unique: the object's
    uid, the reason and the message (which names the step and attempt), not the time. So a
    retried create, and the same transition announced again by an operator restarted
    before its status write landed, is a harmless 409: each fact is recorded once.
    `identity` replaces the message in that hash when the message carries more than the
    fact (a count of Events held back)."""
    fact = message if identity is None else identity
    digest = hashlib.sha256(f"{involved.get('uid')}/{reason}/{fact}".encode())
    name = f"{involved['name'][:200]}.{digest.hexdigest()[:16]}"
    stamp = iso(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": involved["namespace"]},
        "involvedObject": dict(involved),
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if reason in _WARNINGS else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": f"kasset.io/{COMPONENT}",
        "reportingInstance": instance or COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "action": reason,
    }
