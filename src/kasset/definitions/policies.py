"""How a step runs on the cluster: retries, compute resources, placement."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kasset.errors import DefinitionError

__all__ = ["Backoff", "Jitter", "Resources", "RetryPolicy", "Toleration"]

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?\Z")


class Backoff(StrEnum):
    """How the delay grows with each retry (Dagster's): LINEAR is delay x n, EXPONENTIAL
    is delay x (2^n - 1), for the n-th retry."""

    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class Jitter(StrEnum):
    """Randomness added to a retry's delay so failed steps do not all retry at once:
    FULL picks 0..delay, PLUS_MINUS adds -delay..+delay of the base delay."""

    FULL = "FULL"
    PLUS_MINUS = "PLUS_MINUS"


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failed step `max_retries` times, waiting `delay` seconds first. `backoff`
    is Dagster's `Backoff.LINEAR`/`Backoff.EXPONENTIAL`, or a factor: delays 5, 10, 20 for
    `RetryPolicy(3, delay=5, backoff=2)`; `jitter` is a `Jitter`."""

    max_retries: int = 1
    delay: float | None = None
    backoff: Backoff | float | None = None
    jitter: Jitter | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= 100:
            raise DefinitionError(f"RetryPolicy.max_retries must be 0..100, got {self.max_retries}")
        if self.delay is not None and self.delay < 0:
            raise DefinitionError(f"RetryPolicy.delay must not be negative, got {self.delay}")
        if isinstance(self.backoff, str) and not isinstance(self.backoff, Backoff):
            object.__setattr__(self, "backoff", _enum(Backoff, self.backoff, "backoff"))
        elif (
            self.backoff is not None and not isinstance(self.backoff, Backoff) and self.backoff < 1
        ):
            raise DefinitionError(f"RetryPolicy.backoff must be >= 1, got {self.backoff}")
        if self.jitter is not None and not isinstance(self.jitter, Jitter):
            object.__setattr__(self, "jitter", _enum(Jitter, self.jitter, "jitter"))
        if self.delay is None and (isinstance(self.backoff, Backoff) or self.jitter is not None):
            raise DefinitionError("RetryPolicy: backoff and jitter need a delay")

    def delay_before(self, attempt: int, salt: str = "") -> float:
        """Seconds to wait before `attempt` (2 is the first retry). Jitter is drawn from
        `salt` and the attempt, so the plan stays a pure function of its inputs."""
        base = self.delay or 0.0
        retry = max(1, attempt - 1)
        if self.backoff is Backoff.EXPONENTIAL:
            delay = base * (2**retry - 1)
        elif self.backoff is Backoff.LINEAR:
            delay = base * retry
        elif self.backoff is not None:
            delay = base * float(self.backoff) ** (retry - 1)
        else:
            delay = base
        if self.jitter is not None:
            draw = random.Random(f"{salt}:{attempt}").random()
            if self.jitter is Jitter.FULL:
                delay *= draw
            else:
                delay += (2 * draw - 1) * base
        return max(0.0, float(delay))

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"maxRetries": self.max_retries, "delaySeconds": self.delay or 0.0}
        if isinstance(self.backoff, Backoff):
            spec["backoffKind"] = self.backoff.value
        elif self.backoff is not None:
            spec["backoff"] = float(self.backoff)
        if self.jitter is not None:
            spec["jitter"] = self.jitter.value
        return spec


NO_RETRIES = RetryPolicy(max_retries=0)
"""What a step without a retry policy gets."""


def _enum(kind: Any, value: Any, what: str) -> Any:
    try:
        return kind(str(value).upper())
    except ValueError:
        names = ", ".join(member.name for member in kind)
        raise DefinitionError(f"RetryPolicy.{what} must be one of {names}, got {value!r}") from None


@dataclass(frozen=True)
class Resources:
    """Kubernetes requests (and optional limits) for an asset's step pod.

    `Resources(cpu="500m", memory="1Gi")` requests both; the memory limit defaults to the
    request so a step that leaks is OOM-killed rather than starving its neighbours.
    """

    cpu: str | None = None
    memory: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    ephemeral_storage: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("cpu", "memory", "cpu_limit", "memory_limit", "ephemeral_storage"):
            value = getattr(self, name)
            if value is not None and not _QUANTITY.match(str(value)):
                raise DefinitionError(f"Resources.{name}: {value!r} is not a Kubernetes quantity")

    def spec(self) -> dict[str, Any]:
        requests = {
            k: v
            for k, v in (
                ("cpu", self.cpu),
                ("memory", self.memory),
                ("ephemeral-storage", self.ephemeral_storage),
            )
            if v
        }
        requests.update(self.extra)
        limits = {
            k: v
            for k, v in (("cpu", self.cpu_limit), ("memory", self.memory_limit or self.memory))
            if v
        }
        result: dict[str, Any] = {}
        if requests:
            result["requests"] = requests
        if limits:
            result["limits"] = limits
        return result


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration, for steps that must run on tainted nodes."""

    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None

    def spec(self) -> dict[str, Any]:
        raw = {
            "key": self.key,
            "operator": self.operator,
            "value": self.value,
            "effect": self.effect,
            "tolerationSeconds": self.toleration_seconds,
        }
        return {k: v for k, v in raw.items() if v is not None}
