"""A controller wired to the fake API server and a fake clock, with verbs for tests:
create a run, report step events, move pods, let time pass."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from operator_fakes import FakeKube

from kasset import naming
from kasset.operator.runs.config import ControllerConfig
from kasset.operator.runs.controller import Controller

NS = "default"
T0 = 1_700_000_000.0


def run_async(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def asset(key: str, deps: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "deps": deps or [], **extra}


def graph_body(
    name: str = "g", assets: list[dict[str, Any]] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "AssetGraph",
        "metadata": {"name": name, "namespace": NS, "generation": 1},
        "spec": {
            "image": "example/proj:1",
            "codeLocation": {"module": "proj.defs", "attribute": "defs"},
            "assets": assets if assets is not None else [asset("a")],
            **spec,
        },
    }


def mat_body(name: str, graph: str = "g", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kasset.io/v1alpha1",
        "kind": "Materialization",
        "metadata": {"name": name, "namespace": NS, "generation": 1},
        "spec": {"graph": graph, "selection": "*", **spec},
    }


class Harness:
    def __init__(self, **config: Any) -> None:
        self.now = T0
        self.kube = FakeKube(clock=lambda: self.now)
        settings = {
            "event_url": "http://operator:8080/api/v1/events",
            "secret": b"s3cret",
            "status_interval": 0.0,  # write at once, so tests read fresh status
            "asset_interval": 0.0,
            **config,
        }
        self.controller = Controller(
            self.kube, ControllerConfig(**settings), clock=lambda: self.now
        )

    async def settle(self) -> None:
        """Runs background work and every timer due now, until nothing is left."""
        while True:
            await self.controller.drain()
            due = self.controller.timers.next_time()
            if due is None or due > self.now:
                return
            self.controller.fire_due()

    async def add_graph(self, body: dict[str, Any]) -> None:
        stored = self.kube.put("assetgraphs", body)
        self.controller.on_graph(stored, "ADDED")

    async def create_run(self, name: str, graph: str = "g", **spec: Any) -> None:
        stored = self.kube.put("materializations", mat_body(name, graph, **spec))
        await self.controller.on_materialization(stored, "ADDED")
        await self.settle()

    async def update_run(self, name: str, **spec: Any) -> None:
        body = self.kube.objects[("materializations", NS, name)]
        body["spec"].update(spec)
        body["metadata"]["generation"] += 1
        await self.controller.on_materialization(copy.deepcopy(body), "MODIFIED")
        await self.settle()

    async def delete_run(self, name: str) -> None:
        body = self.kube.objects.pop(("materializations", NS, name))
        await self.controller.on_materialization(body, "DELETED")
        await self.settle()

    def pod_names(self, run: str | None = None) -> list[str]:
        return sorted(
            name
            for (_, name), pod in self.kube.pods.items()
            if run is None or pod["metadata"]["annotations"]["kasset.io/run"] == run
        )

    def pod_of(self, run: str, step: str, attempt: int = 1) -> dict[str, Any]:
        return self.kube.pods[(NS, naming.step_pod_name(run, step, attempt))]

    def event(
        self, run: str, step: str, kind: str, attempt: int = 1, **payload: Any
    ) -> dict[str, Any]:
        asset_key, _, partition = step.partition("[")
        return {
            "id": str(uuid.uuid4()),
            "type": kind,
            "run": run,
            "step": step,
            "asset": asset_key,
            "partition": partition.rstrip("]") or None,
            "attempt": attempt,
            "timestamp": "2024-01-01T00:00:00Z",
            "payload": payload,
        }

    async def report(self, run: str, *events: dict[str, Any]) -> None:
        await self.controller.intake.submit_events(NS, run, list(events))
        await self.settle()

    async def succeed(self, run: str, step: str, attempt: int = 1, **metadata: Any) -> None:
        await self.report(
            run,
            self.event(run, step, "STEP_STARTED", attempt),
            self.event(run, step, "ASSET_MATERIALIZED", attempt, metadata=metadata),
            self.event(run, step, "STEP_SUCCEEDED", attempt),
        )

    async def fail(
        self, run: str, step: str, attempt: int = 1, message: str = "boom", retryable: bool = True
    ) -> None:
        error = {"type": "ValueError", "message": message, "retryable": retryable}
        await self.report(run, self.event(run, step, "STEP_FAILED", attempt, error=error))

    async def pod_update(
        self, run: str, step: str, attempt: int = 1, *, event_type: str = "MODIFIED", **status: Any
    ) -> None:
        pod = self.pod_of(run, step, attempt)
        pod["status"] = status
        await self.controller.intake.on_pod(copy.deepcopy(pod), event_type)
        await self.settle()

    async def pod_terminated(
        self,
        run: str,
        step: str,
        attempt: int = 1,
        *,
        phase: str,
        exit_code: int,
        events: list[dict[str, Any]] | None = None,
        reason: str | None = None,
    ) -> None:
        terminated: dict[str, Any] = {"exitCode": exit_code}
        if reason:
            terminated["reason"] = reason
        if events is not None:
            terminated["message"] = json.dumps({"v": 1, "events": events})
        await self.pod_update(
            run,
            step,
            attempt,
            phase=phase,
            containerStatuses=[{"name": "step", "state": {"terminated": terminated}}],
        )

    async def advance(self, seconds: float) -> None:
        """Lets time pass: fires every timer due on the way, in order."""
        target = self.now + seconds
        while True:
            due = self.controller.timers.next_time()
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            self.controller.fire_due()
            await self.settle()
        self.now = target
        self.controller.fire_due()
        await self.settle()

    def status(self, run: str) -> dict[str, Any]:
        return self.kube.status_of("materializations", run)

    def phase(self, run: str) -> str | None:
        return self.status(run).get("phase")
