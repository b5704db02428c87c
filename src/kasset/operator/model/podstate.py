"""What a step pod's state means for its step: a pure reading of the pod body.

The pod is the fallback channel: when no HTTP event arrived (the operator was down, the
network failed, the container was OOM-killed), its phase, container state, conditions
and termination message still say how the attempt ended, in words a person can act on.
"""

from __future__ import annotations

import contextlib
import signal as _signals
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kasset.definitions.keys import StepKey
from kasset.errors import DefinitionError
from kasset.naming import step_pod_name
from kasset.operator.model.pods import (
    ANNOTATION_ATTEMPT,
    ANNOTATION_RUN,
    ANNOTATION_STEP,
    LABEL_RUN,
)
from kasset.operator.model.reports import EventType, ReportedEvent, parse_termination_message
from kasset.plan import RetryRequest

__all__ = [
    "FATAL_WAITING_REASONS",
    "PodIdentity",
    "PodView",
    "pod_identity",
    "read_pod",
]

#: Waiting reasons that never heal by waiting: fail the attempt at once.
FATAL_WAITING_REASONS = frozenset({"InvalidImageName"})
#: Pod reasons (status.reason) of pods the node gave up on, whatever the code would do.
_NODE_REASONS = frozenset(
    {
        "Evicted",
        "NodeLost",
        "NodeAffinity",
        "NodeShutdown",
        "Shutdown",
        "Terminated",
        "UnexpectedAdmissionError",
        "OutOfcpu",
        "OutOfmemory",
        "OutOfpods",
    }
)
#: Container reasons of a container that never ran the step's code.
_NOT_STARTED_REASONS = frozenset({"StartError", "ContainerCannotRun"})
#: ... and the runtime's words for an image that can never start it (no retry helps).
_BAD_IMAGE_WORDS = (
    "executable file not found",
    "no such file or directory",
    "exec format error",
    "permission denied",
)
_WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class PodIdentity:
    namespace: str
    name: str
    run: str
    step: StepKey
    attempt: int


@dataclass(frozen=True)
class PodView:
    """How the attempt stands according to its pod.

    `state` is one of: pending, running, succeeded, failed, gone. `infrastructure`: the
    attempt failed for a reason outside the step's code (see `StepFailed.infrastructure`).
    """

    state: str
    message: str | None = None
    retryable: bool = True
    fatal: bool = False
    infrastructure: bool = False
    events: list[ReportedEvent] = field(default_factory=list)
    created_at: str | None = None
    #: The step's code raised RetryRequested (from the termination message).
    retry_requested: RetryRequest | None = None


def pod_identity(body: Mapping[str, Any]) -> PodIdentity | None:
    """The step attempt a pod runs, from the metadata the operator wrote (annotations and
    labels, which the step's code cannot change) and bound by the pod's name, which
    derives from them; None for a pod that is not ours."""
    metadata = body.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    run = annotations.get(ANNOTATION_RUN) or labels.get(LABEL_RUN)
    attempt = str(annotations.get(ANNOTATION_ATTEMPT))
    if not (attempt.isascii() and attempt.isdigit()):
        return None
    try:
        identity = PodIdentity(
            namespace=str(metadata["namespace"]),
            name=str(metadata["name"]),
            run=str(run),
            step=StepKey.from_string(str(annotations[ANNOTATION_STEP])),
            attempt=int(attempt),
        )
        own_name = step_pod_name(identity.run, identity.step.to_string(), identity.attempt)
    except (KeyError, TypeError, ValueError, DefinitionError):
        return None
    return identity if identity.name == own_name else None


def read_pod(body: Mapping[str, Any], deleted: bool = False) -> PodView:
    """Reads the pod's phase, container state and termination message."""
    status = body.get("status") or {}
    metadata = body.get("metadata") or {}
    created = metadata.get("creationTimestamp")
    phase = status.get("phase") or "Pending"
    terminated = _terminated(status)
    events = parse_termination_message((terminated or {}).get("message"))
    if phase == "Succeeded":
        return PodView("succeeded", events=events, created_at=created)
    if phase == "Failed":
        failure = next((e for e in events if e.type == EventType.STEP_FAILED), None)
        if failure is not None:
            message = failure.error or "the step failed"
            return PodView(
                "failed",
                message,
                failure.retryable,
                infrastructure=failure.interrupted and status.get("reason") != "DeadlineExceeded",
                events=events,
                created_at=created,
                retry_requested=failure.retry_requested,
            )
        return _failed_by_pod(status, terminated, events, created)
    if deleted or metadata.get("deletionTimestamp"):
        if terminated is not None:  # deleted right after the container ended
            exit_code = terminated.get("exitCode")
            if exit_code == 0:
                return PodView("succeeded", events=events, created_at=created)
            return _failed_by_pod(status, terminated, events, created)
        return PodView(
            "gone",
            f"the step's pod was {_disruption(status) or 'deleted'} while the step was running",
            infrastructure=True,
            created_at=created,
        )
    if phase == "Running":
        return PodView("running", created_at=created)
    reason, fatal = _pending_reason(status)
    return PodView("pending", reason, fatal=fatal, retryable=not fatal, created_at=created)


def _container_status(status: Mapping[str, Any]) -> Mapping[str, Any]:
    for container in status.get("containerStatuses") or []:
        if isinstance(container, Mapping):
            return container  # one container per step pod
    return {}


def _terminated(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    state = _container_status(status).get("state") or {}
    terminated = state.get("terminated")
    return terminated if isinstance(terminated, Mapping) else None


def _failed_by_pod(
    status: Mapping[str, Any],
    terminated: Mapping[str, Any] | None,
    events: list[ReportedEvent],
    created: str | None,
) -> PodView:
    """A failed attempt whose runtime did not say why: the pod and container tell."""
    return PodView(
        "failed",
        _failure_message(status, terminated),
        infrastructure=_lost_to_infrastructure(status, terminated),
        events=events,
        created_at=created,
    )


def _disruption(status: Mapping[str, Any]) -> str | None:
    """Why Kubernetes took the pod away (an eviction, preemption, a taint), if it said so."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            why = condition.get("reason") or "DisruptionTarget"
            detail = condition.get("message")
            return f"disrupted ({why}: {detail})" if detail else f"disrupted ({why})"
    return None


def _lost_to_infrastructure(
    status: Mapping[str, Any], terminated: Mapping[str, Any] | None
) -> bool:
    """Whether the pod failed for a reason of its node, not of the step's code: the kubelet
    rejected or evicted it, the node went away, Kubernetes marked it disrupted (pod
    condition DisruptionTarget), or its container never started."""
    if status.get("reason") in _NODE_REASONS:
        return True
    if _disruption(status) is not None:
        return True
    if terminated is None or terminated.get("reason") not in _NOT_STARTED_REASONS:
        return False
    return not _bad_image(terminated)


def _bad_image(terminated: Mapping[str, Any]) -> bool:
    detail = str(terminated.get("message") or "").lower()
    return any(words in detail for words in _BAD_IMAGE_WORDS)


def _failure_message(status: Mapping[str, Any], terminated: Mapping[str, Any] | None) -> str:
    reason = status.get("reason")
    detail = status.get("message")
    if reason == "Evicted":
        return f"the step's pod was evicted: {detail or 'node pressure'}"
    if reason == "DeadlineExceeded":
        return "the step's pod exceeded its deadline (activeDeadlineSeconds) and was stopped"
    if terminated is not None:
        if terminated.get("reason") == "OOMKilled":
            return "the step ran out of memory (OOMKilled): raise its memory limit"
        code = terminated.get("exitCode")
        signal = terminated.get("signal")
        if signal:
            return f"the step's container was killed by signal {signal}"
        why = terminated.get("reason")
        if why in _NOT_STARTED_REASONS:
            detail = str(terminated.get("message") or "").strip()
            text = f"the step's container could not start ({why})"
            if detail:
                text = f"{text}: {detail[-300:]}"
            if _bad_image(terminated):
                text += "; the step's image must have kasset installed (pip install kasset)"
            return text
        text = f"the step's container exited with code {code}"
        if isinstance(code, int) and 128 < code <= 128 + 64:  # 128 + n: killed by signal n
            with contextlib.suppress(ValueError):
                text += f" (killed by {_signals.Signals(code - 128).name})"
        return f"{text} ({why})" if why and why not in ("Error", "Completed") else text
    if reason:
        return f"the step's pod failed: {reason}" + (f": {detail}" if detail else "")
    return "the step's pod failed"


def _pending_reason(status: Mapping[str, Any]) -> tuple[str | None, bool]:
    waiting = (_container_status(status).get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason in _WAITING_REASONS:
        detail = waiting.get("message")
        text = f"{reason}: {detail}" if detail else str(reason)
        return text, reason in FATAL_WAITING_REASONS
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            why = condition.get("reason") or "Unschedulable"
            detail = condition.get("message")
            return (f"{why}: {detail}" if detail else str(why)), False
    if reason:
        return str(reason), False
    return None, False
