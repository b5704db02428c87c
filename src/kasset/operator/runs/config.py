"""Settings of the run controller (the subset of the command line options it reads)."""

from __future__ import annotations

from dataclasses import dataclass

from kasset.operator.model.storage import StorageDefaults
from kasset.plan import INFRA_RETRIES

__all__ = ["ControllerConfig"]


@dataclass(frozen=True)
class ControllerConfig:
    #: URL step pods post events to; None: they report through termination messages only.
    event_url: str | None = None
    #: HMAC secret of step tokens.
    secret: bytes = b""
    #: Steps running at once across all runs; None: no global limit.
    max_running: int | None = None
    #: A step pod that has not started this long after creation fails its attempt.
    pending_timeout: float = 300.0
    #: Attempts per step the infrastructure may lose that are retried for free.
    infra_retries: int = INFRA_RETRIES
    #: Least seconds between two status writes of one run (grows with the status size).
    status_interval: float = 0.25
    #: Least seconds between two status writes of one Asset.
    asset_interval: float = 1.0
    #: "all": a Kubernetes Event per finished step; "failures": only failed/retried steps.
    step_events: str = "all"
    #: This replica's name, in Events' reportingInstance.
    instance: str = ""
    #: Grace period of step pods deleted on cancel, timeout or pending timeout.
    delete_grace_seconds: int = 5
    #: Storage of graphs that set none (the installation's KASSET_STORAGE_* env).
    storage_defaults: StorageDefaults | None = None
