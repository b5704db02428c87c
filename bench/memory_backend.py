"""A Backend over resources held in memory: what tests and the page benchmark serve (kept
in bench/, out of the product). Launches are recorded, not run.

`MemoryBackend.synthetic(1000)` builds a layered graph of that many assets with health,
runs and partitions, the shape the 1,000-asset page budget is measured on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from kasset.errors import KassetError
from kasset.naming import asset_object_name
from kasset.resources import (
    AssetGraphResource,
    AssetGraphSpec,
    AssetHealth,
    AssetResource,
    AssetRunSummary,
    AssetSpec,
    AssetStatus,
    CodeLocation,
    GraphAsset,
    LatestMaterialization,
    MaterializationResource,
    MaterializationStatus,
    ObjectMeta,
    PartitionSelection,
    RunPhase,
    Schedule,
    StepCounts,
    StepPhase,
    StepStatus,
)
from kasset.ui.backend import (
    ChangeFeed,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    select_runs,
    watch_object,
)
from kasset.ui.launching import build_materialization, new_run_name, partition_keys, rerun_request
from kasset.ui.model import graph_of
from kasset.ui.schedules import ScheduleView, schedule_views

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Graphs, assets and runs in dicts; `update_run` lets tests drive live pages."""

    mode = "memory"

    def __init__(
        self,
        graphs: list[AssetGraphResource],
        assets: list[AssetResource] | None = None,
        runs: list[MaterializationResource] | None = None,
        logs: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self._graphs = {_key(g): g for g in graphs}
        self._assets = {_key(a): a for a in assets or []}
        self._runs = {_key(r): r for r in runs or []}
        self.logs = logs or {}
        self.feed = ChangeFeed()
        self.launched: list[MaterializationResource] = []
        self.canceled: list[str] = []

    def graphs(self) -> list[AssetGraphResource]:
        return list(self._graphs.values())

    def graph(self, namespace: str, name: str) -> AssetGraphResource:
        found = self._graphs.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no asset graph {namespace}/{name}")
        return found

    def assets(self, namespace: str | None = None, graph: str | None = None) -> list[AssetResource]:
        return [
            a
            for (ns, _), a in self._assets.items()
            if (namespace is None or ns == namespace) and (graph is None or a.spec.graph == graph)
        ]

    def asset(self, namespace: str, name: str) -> AssetResource:
        found = self._assets.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no asset {namespace}/{name}")
        return found

    def runs(
        self,
        namespace: str | None = None,
        graph: str | None = None,
        phase: RunPhase | None = None,
        limit: int = 200,
    ) -> list[MaterializationResource]:
        return select_runs(self._runs.values(), namespace, graph, phase, limit)

    def run(self, namespace: str, name: str) -> MaterializationResource:
        found = self._runs.get((namespace, name))
        if found is None:
            raise NotFoundError(f"no run {namespace}/{name}")
        return found

    def update_run(self, run: MaterializationResource) -> None:
        """Replaces a run (tests: a status change that live pages must show)."""
        self._runs[_key(run)] = run
        self.feed.bump(("run", *_key(run)))

    def watch_run(self, namespace: str, name: str) -> AsyncIterator[MaterializationResource]:
        self.run(namespace, name)
        return watch_object(
            self.feed, ("run", namespace, name), lambda: self.run(namespace, name), heartbeat=1.0
        )

    async def step_logs(
        self,
        namespace: str,
        run: str,
        step: str,
        attempt: int | None = None,
        follow: bool = False,
    ) -> AsyncIterator[str]:
        text = self.logs.get((run, step), "")
        for line in text.splitlines(keepends=True):
            yield line
            await asyncio.sleep(0)

    def launch(
        self,
        namespace: str,
        graph: str,
        selection: str,
        partitions: PartitionSelection | None,
        launched_by: str,
    ) -> str:
        resource = self.graph(namespace, graph)
        pure = graph_of(resource)
        try:
            pure.select(selection)
        except KassetError as error:
            raise InvalidRequestError(str(error)) from None
        partition_keys(pure, selection, partitions)
        run = build_materialization(
            name=new_run_name(graph),
            namespace=namespace,
            graph=graph,
            selection=selection,
            partitions=partitions,
            launched_by=launched_by,
            now=datetime.now(UTC),
        )
        run.status = MaterializationStatus(phase=RunPhase.PENDING)
        self._runs[_key(run)] = run
        self.launched.append(run)
        return run.metadata.name or ""

    def cancel(self, namespace: str, run: str) -> None:
        current = self.run(namespace, run)
        if current.status is not None and current.status.phase.finished:
            raise ConflictError(f"run {run} has already finished")
        self.canceled.append(run)

    def rerun_failed(self, namespace: str, run: str) -> str:
        current = self.run(namespace, run)
        selection, partitions = rerun_request(
            current, graph_of(self.graph(namespace, current.spec.graph))
        )
        return self.launch(namespace, current.spec.graph, selection, partitions, f"ui:rerun:{run}")

    def schedules(self) -> list[ScheduleView]:
        return schedule_views(self.graphs(), datetime.now(UTC))

    @classmethod
    def synthetic(
        cls, size: int, *, namespace: str = "demo", name: str = "synthetic", seed: int = 7
    ) -> MemoryBackend:
        """A layered graph of `size` assets in 10 groups, mostly materialized, with one
        finished run that touched every asset."""
        rng = random.Random(seed)
        now = datetime.now(UTC)
        keys = [f"g{i % 10}/asset_{i:05d}" for i in range(size)]
        entries = []
        for i, key in enumerate(keys):
            window = keys[max(0, i - 60) : max(0, i - 5)] if i >= 10 else []
            deps = sorted(rng.sample(window, min(len(window), rng.randint(1, 3)))) if window else []
            entries.append(
                GraphAsset(key=key, deps=deps, group=f"g{i % 10}", tags={"tier": str(i % 3)})
            )
        graph = AssetGraphResource(
            metadata=ObjectMeta(name=name, namespace=namespace, creation_timestamp=now),
            spec=AssetGraphSpec(
                image="example/synthetic:1",
                code_location=CodeLocation(module="synthetic"),
                assets=entries,
                schedules=[Schedule(name="hourly", cron="0 * * * *", selection="group:g0")],
            ),
        )
        run_name = f"{name}-nightly"
        healths = [AssetHealth.FRESH] * 8 + [AssetHealth.STALE, AssetHealth.FAILED]
        assets = []
        for i, entry in enumerate(entries):
            health = AssetHealth.MISSING if i % 17 == 0 else healths[i % len(healths)]
            latest = (
                None
                if health is AssetHealth.MISSING
                else LatestMaterialization(
                    run=run_name, time=now - timedelta(minutes=i % 300), metadata={"rows": str(i)}
                )
            )
            assets.append(
                AssetResource(
                    metadata=ObjectMeta(
                        name=asset_object_name(name, entry.key), namespace=namespace
                    ),
                    spec=AssetSpec(graph=name, key=entry.key, group=entry.group, deps=entry.deps),
                    status=AssetStatus(health=health, latest=latest),
                )
            )
        run = build_materialization(
            name=run_name,
            namespace=namespace,
            graph=name,
            selection="*",
            partitions=None,
            launched_by="schedule:nightly",
            now=now - timedelta(hours=1),
        )
        failed = [e.key for i, e in enumerate(entries) if i % 10 == 9]
        run.status = MaterializationStatus(
            phase=RunPhase.FAILED,
            start_time=now - timedelta(hours=1),
            completion_time=now - timedelta(minutes=20),
            counts=StepCounts(total=size, succeeded=size - len(failed), failed=len(failed)),
            assets=[
                AssetRunSummary(
                    asset=e.key,
                    phase=StepPhase.FAILED if e.key in failed else StepPhase.SUCCEEDED,
                )
                for e in entries
            ],
            steps=[
                StepStatus(
                    key=key,
                    phase=StepPhase.FAILED,
                    attempts=1,
                    start_time=now - timedelta(minutes=50),
                    end_time=now - timedelta(minutes=45),
                    message="ValueError: synthetic failure",
                )
                for key in failed[:1000]
            ],
        )
        return cls([graph], assets, [run])


def _key(obj: AssetGraphResource | AssetResource | MaterializationResource) -> tuple[str, str]:
    return (obj.metadata.namespace or "default", obj.metadata.name or "")
