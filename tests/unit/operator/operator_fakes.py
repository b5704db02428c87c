"""An in-memory API server for the controller's unit tests: the `Kube` Protocol over
dicts, with the write log the API-write budget tests count, and failure injection."""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kasset.operator.kube.client import ApiError


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeKube:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.writes: list[tuple[str, str]] = []
        self.deleted_pods: list[str] = []
        self.status_patches: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[tuple[str, str], list[ApiError]] = {}
        self._rv = itertools.count(1)

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def fail_next(self, verb: str, resource: str, error: ApiError) -> None:
        self.failures.setdefault((verb, resource), []).append(error)

    def _write(self, verb: str, resource: str) -> None:
        self.writes.append((verb, resource))
        queued = self.failures.get((verb, resource))
        if queued:
            raise queued.pop(0)

    # ---- pods

    async def create_pod(self, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        self._write("create", "pods")
        key = (namespace, body["metadata"]["name"])
        if key in self.pods:
            return copy.deepcopy(self.pods[key]), False
        pod = copy.deepcopy(body)
        pod["metadata"].update(
            uid=str(uuid.uuid4()),
            creationTimestamp=self._stamp(),
            resourceVersion=str(next(self._rv)),
        )
        pod["status"] = {"phase": "Pending"}
        self.pods[key] = pod
        return copy.deepcopy(pod), True

    async def delete_pod(self, namespace: str, name: str, grace_seconds: int = 5) -> None:
        self._write("delete", "pods")
        self.deleted_pods.append(name)
        self.pods.pop((namespace, name), None)

    async def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        label, _, value = selector.partition("=")
        return [
            copy.deepcopy(p)
            for (ns, _), p in self.pods.items()
            if ns == namespace and p["metadata"]["labels"].get(label) == value
        ]

    async def read_pod_log(self, namespace: str, name: str, tail_lines: int | None = None) -> str:
        return ""

    # ---- kasset objects

    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def list_objects(
        self, plural: str, namespace: str, selector: str | None = None
    ) -> list[dict[str, Any]]:
        label, _, value = (selector or "").partition("=")
        return [
            copy.deepcopy(o)
            for (p, ns, _), o in self.objects.items()
            if p == plural
            and (not namespace or ns == namespace)
            and (not selector or o["metadata"].get("labels", {}).get(label) == value)
        ]

    def put(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        """Stores an object as if a user applied it (not counted as our write)."""
        stored = copy.deepcopy(body)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("generation", 1)
        meta.setdefault("creationTimestamp", self._stamp())
        self.objects[(plural, meta["namespace"], meta["name"])] = stored
        return copy.deepcopy(stored)

    async def create_object(
        self, plural: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        self._write("create", plural)
        if (plural, namespace, body["metadata"]["name"]) in self.objects:
            return None
        return self.put(plural, {**body, "metadata": {**body["metadata"], "namespace": namespace}})

    async def patch_object(
        self, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        self._write("patch", plural)
        found = self.objects.get((plural, namespace, name))
        if found is None:
            return None
        merge(found, patch)
        if "spec" in patch:
            found["metadata"]["generation"] = found["metadata"].get("generation", 1) + 1
        return copy.deepcopy(found)

    async def patch_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        self._write("patch", f"{plural}/status")
        self.status_patches.append((name, copy.deepcopy(status)))
        found = self.objects.get((plural, namespace, name))
        if found is None:
            return None
        merge(found.setdefault("status", {}), status)
        return copy.deepcopy(found)

    async def delete_object(self, plural: str, namespace: str, name: str) -> None:
        self._write("delete", plural)
        self.objects.pop((plural, namespace, name), None)

    async def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        self._write("create", "events")
        self.events.append(copy.deepcopy(body))

    # ---- helpers for tests

    def status_of(self, plural: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return dict(self.objects[(plural, namespace, name)].get("status") or {})

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.events]
