"""How a step runs on the cluster: retries, compute resources, placement."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kasset.errors import DefinitionError

__all__ = ["Resources", "RetryPolicy", "Toleration"]

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?\Z")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a failed step `max_retries` times, waiting `delay` seconds, times `backoff`
    after each further failure: delays 5, 10, 20 for `RetryPolicy(3, delay=5, backoff=2)`."""

    max_retries: int = 0
    delay: float = 0.0
    backoff: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= 100:
            raise DefinitionError(f"RetryPolicy.max_retries must be 0..100, got {self.max_retries}")
        if self.delay < 0:
            raise DefinitionError(f"RetryPolicy.delay must not be negative, got {self.delay}")
        if self.backoff < 1:
            raise DefinitionError(f"RetryPolicy.backoff must be >= 1, got {self.backoff}")

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 is the first retry)."""
        return self.delay * self.backoff ** max(0, attempt - 2)

    def spec(self) -> dict[str, Any]:
        return {"maxRetries": self.max_retries, "delaySeconds": self.delay, "backoff": self.backoff}


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
