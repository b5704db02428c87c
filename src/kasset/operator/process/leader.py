"""Leader election with a coordination.k8s.io/v1 Lease, as controller-runtime does it.

A replica blocks until it holds the Lease, then renews it from a thread of its own (so a
busy event loop cannot starve renewal). If it cannot renew before the renew deadline it
exits non-zero at once: Kubernetes restarts it, and no two replicas act as leader. The
leader labels its own pod `kasset.io/role=leader`, which the chart's Service selects, so
event ingest and UI traffic reach the active replica. Expiry is judged by this process's
own clock since it last saw the record change, never by comparing clocks across nodes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kasset.operator.kube.client import ApiError, RawApi

__all__ = ["LeaderElector", "LeaseTimings", "lease_body"]

logger = logging.getLogger(__name__)

ROLE_LABEL = "kasset.io/role"
LEADER = "leader"


@dataclass(frozen=True)
class LeaseTimings:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    renew_period: float = 5.0


def _micro(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_body(
    name: str,
    namespace: str,
    holder: str,
    duration: float,
    now: float,
    transitions: int,
    acquired: float | None = None,
    resource_version: str | None = None,
    kept_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Lease object naming `holder` (pure). `kept_metadata` is the metadata of the
    Lease as read: its labels and annotations are kept, since a PUT replaces them and
    Helm recognises the Lease it installed by them."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    for field in ("labels", "annotations"):
        if (kept_metadata or {}).get(field):
            metadata[field] = dict((kept_metadata or {})[field])
    if resource_version:
        metadata["resourceVersion"] = resource_version
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": max(1, round(duration)),
            "acquireTime": _micro(acquired if acquired is not None else now),
            "renewTime": _micro(now),
            "leaseTransitions": transitions,
        },
    }


class LeaderElector:
    def __init__(
        self,
        raw: RawApi,
        namespace: str,
        identity: str,
        name: str = "kasset-operator",
        pod_name: str | None = None,
        timings: LeaseTimings = LeaseTimings(),
        clock: Callable[[], float] = time.monotonic,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.raw, self.namespace, self.identity, self.name = raw, namespace, identity, name
        self.pod_name = pod_name
        self.timings = timings
        self.clock = clock
        self.on_lost = on_lost or _exit_now
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) last seen
        self._observed_at = 0.0
        self._acquired_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"

    def try_acquire_or_renew(self) -> bool:
        """One round: True when we hold the lease afterwards."""
        now_wall = time.time()
        try:
            lease = self.raw.request("GET", f"{self.path}/{self.name}")
        except ApiError as error:
            if error.status != 404:
                logger.warning("cannot read lease %s: %s", self.name, error)
                return False
            body = lease_body(
                self.name, self.namespace, self.identity, self.timings.lease_duration, now_wall, 0
            )
            try:
                self.raw.request("POST", self.path, body=body)
            except ApiError as create_error:
                logger.info("cannot create lease %s: %s", self.name, create_error)
                return False
            self._acquired_at = now_wall
            return True
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""))
        if record != self._observed:
            self._observed, self._observed_at = record, self.clock()
        duration = float(spec.get("leaseDurationSeconds") or self.timings.lease_duration)
        expired = self._observed_at + duration <= self.clock()
        if holder and holder != self.identity and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder != self.identity:
            transitions += 1
            self._acquired_at = now_wall
        body = lease_body(
            self.name,
            self.namespace,
            self.identity,
            self.timings.lease_duration,
            now_wall,
            transitions,
            self._acquired_at,
            lease["metadata"].get("resourceVersion"),
            lease["metadata"],
        )
        try:
            self.raw.request("PUT", f"{self.path}/{self.name}", body=body)
        except ApiError as error:
            logger.info("cannot update lease %s: %s", self.name, error)  # 409: someone else
            return False
        return True

    def acquire(self) -> None:
        """Blocks until this replica is the leader, then labels its pod."""
        logger.info(
            "waiting to become leader (lease %s/%s, identity %s)",
            self.namespace,
            self.name,
            self.identity,
        )
        while not self.try_acquire_or_renew():
            if self._stop.wait(self.timings.retry_period):
                raise SystemExit(0)
        logger.info("became leader")
        self.set_role(True)

    def start_renewing(self) -> None:
        self._thread = threading.Thread(target=self._renew_loop, name="lease", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        last_success = self.clock()
        while not self._stop.wait(self.timings.renew_period):
            while not self._stop.is_set():
                if self.try_acquire_or_renew():
                    last_success = self.clock()
                    break
                if self.clock() - last_success >= self.timings.renew_deadline:
                    logger.error(
                        "lost the leader lease (no renewal for %.1fs): exiting",
                        self.clock() - last_success,
                    )
                    self.on_lost()
                    return
                self._stop.wait(self.timings.retry_period)

    def release(self) -> None:
        """Graceful shutdown: stop renewing, give the lease up so a standby takes over
        at once, and drop the leader label."""
        self._stop.set()
        try:
            lease = self.raw.request("GET", f"{self.path}/{self.name}")
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = ""
                lease["spec"]["leaseDurationSeconds"] = 1
                self.raw.request("PUT", f"{self.path}/{self.name}", body=lease)
        except ApiError as error:
            logger.info("cannot release lease %s: %s", self.name, error)
        self.set_role(False)

    def set_role(self, leader: bool) -> None:
        """Adds or removes our pod's leader label (no-op outside a pod)."""
        if not self.pod_name:
            return
        patch = {"metadata": {"labels": {ROLE_LABEL: LEADER if leader else None}}}
        try:
            self.raw.request(
                "PATCH",
                f"/api/v1/namespaces/{self.namespace}/pods/{self.pod_name}",
                body=patch,
                content_type="application/merge-patch+json",
            )
        except ApiError as error:
            logger.warning("cannot label pod %s: %s", self.pod_name, error)


def _exit_now() -> None:
    logging.shutdown()
    os._exit(1)
