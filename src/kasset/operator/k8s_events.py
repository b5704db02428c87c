"""Kubernetes Events that mark run and step transitions, built by pure functions.

core/v1 Events (what `kubectl describe` and `kubectl get events` show) attached to the
Materialization. One Event per finished step at most, so they stay cheap.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kasset.operator.status import iso

__all__ = ["COMPONENT", "Reason", "build_event"]

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


def build_event(
    involved: dict[str, Any],
    reason: str,
    message: str,
    now: float,
    instance: str = "",
) -> dict[str, Any]:
    """A core/v1 Event about `involved` ({apiVersion, kind, name, namespace, uid}).

    The name is the object's name plus a hash of what makes the Event unique: the object's
    uid, the reason and the message (which names the step and attempt), not the time. So a
    retried create, and the same transition announced again by an operator restarted
    before its status write landed, is a harmless 409: each fact is recorded once."""
    digest = hashlib.sha256(f"{involved.get('uid')}/{reason}/{message}".encode())
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
