"""The JSON API under `/api/v1` that the pages use and scripts may call: the resources
as the Kubernetes API shapes them, launches, cancels, re-runs, step logs and a
server-sent-events stream of a run's progress."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from kasset.errors import KassetError
from kasset.resources import (
    AssetGraphResource,
    AssetResource,
    MaterializationResource,
    PartitionSelection,
    RunPhase,
)
from kasset.ui.backend import Backend, InvalidRequestError
from kasset.ui.launching import partition_selection
from kasset.ui.lineage import render_svg
from kasset.ui.model import graph_of
from kasset.ui.schedules import ScheduleView
from kasset.ui.templating import base_path, launched_by

__all__ = ["LaunchRequest", "LaunchResponse", "build_api_router"]

SSE_HEARTBEAT_SECONDS = 15.0


class LaunchRequest(BaseModel):
    """A run to start. Give partitions as an object, or as text (`A..B`, `k1,k2`)."""

    namespace: str = Field(description="Namespace of the AssetGraph.")
    graph: str = Field(description="AssetGraph name.")
    selection: str = Field("*", description="Selection, e.g. 'raw/orders+' or 'group:raw'.")
    partitions: PartitionSelection | None = Field(None, description="Partitions to run.")
    partition_text: str | None = Field(
        None, description="Partitions as text: KEY, A..B, or k1,k2 (instead of partitions)."
    )


class LaunchResponse(BaseModel):
    namespace: str
    name: str
    url: str = Field(description="The run's page.")


class RunRef(BaseModel):
    namespace: str
    name: str


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def build_api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["kasset"])

    @router.get(
        "/graphs", response_model=list[AssetGraphResource], response_model_exclude_none=True
    )
    def list_graphs(request: Request) -> list[AssetGraphResource]:
        return _backend(request).graphs()

    @router.get(
        "/graphs/{namespace}/{name}",
        response_model=AssetGraphResource,
        response_model_exclude_none=True,
    )
    def get_graph(request: Request, namespace: str, name: str) -> AssetGraphResource:
        return _backend(request).graph(namespace, name)

    @router.get("/graphs/{namespace}/{name}/lineage.svg", response_class=Response)
    def get_lineage_svg(
        request: Request, namespace: str, name: str, select: str | None = None
    ) -> Response:
        """The lineage as a standalone SVG, coloured by asset health."""
        backend = _backend(request)
        resource = backend.graph(namespace, name)
        health = {
            a.spec.key: (a.status.health.value if a.status else "Missing")
            for a in backend.assets(namespace, name)
        }
        try:
            svg = render_svg(graph_of(resource), health, selection=select)
        except KassetError as error:
            raise InvalidRequestError(str(error)) from None
        return Response(svg, media_type="image/svg+xml")

    @router.get("/assets", response_model=list[AssetResource], response_model_exclude_none=True)
    def list_assets(
        request: Request, namespace: str | None = None, graph: str | None = None
    ) -> list[AssetResource]:
        return _backend(request).assets(namespace, graph)

    @router.get(
        "/assets/{namespace}/{name}", response_model=AssetResource, response_model_exclude_none=True
    )
    def get_asset(request: Request, namespace: str, name: str) -> AssetResource:
        return _backend(request).asset(namespace, name)

    @router.get(
        "/runs", response_model=list[MaterializationResource], response_model_exclude_none=True
    )
    def list_runs(
        request: Request,
        namespace: str | None = None,
        graph: str | None = None,
        phase: RunPhase | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[MaterializationResource]:
        return _backend(request).runs(namespace, graph, phase, limit)

    @router.post("/runs", response_model=LaunchResponse, status_code=201)
    def launch_run(request: Request, body: LaunchRequest) -> LaunchResponse:
        partitions = body.partitions or partition_selection(body.partition_text)
        name = _backend(request).launch(
            body.namespace, body.graph, body.selection or "*", partitions, launched_by(request)
        )
        return LaunchResponse(
            namespace=body.namespace,
            name=name,
            url=f"{base_path(request)}/runs/{body.namespace}/{name}",
        )

    @router.get(
        "/runs/{namespace}/{name}",
        response_model=MaterializationResource,
        response_model_exclude_none=True,
    )
    def get_run(request: Request, namespace: str, name: str) -> MaterializationResource:
        return _backend(request).run(namespace, name)

    @router.post("/runs/{namespace}/{name}/cancel", response_model=RunRef)
    def cancel_run(request: Request, namespace: str, name: str) -> RunRef:
        _backend(request).cancel(namespace, name)
        return RunRef(namespace=namespace, name=name)

    @router.post("/runs/{namespace}/{name}/rerun", response_model=LaunchResponse, status_code=201)
    def rerun_failed(request: Request, namespace: str, name: str) -> LaunchResponse:
        new = _backend(request).rerun_failed(namespace, name)
        return LaunchResponse(
            namespace=namespace, name=new, url=f"{base_path(request)}/runs/{namespace}/{new}"
        )

    @router.get("/runs/{namespace}/{name}/events", response_class=StreamingResponse)
    def run_events(
        request: Request, namespace: str, name: str, fragment: bool = False
    ) -> StreamingResponse:
        """Server-sent events: `status` (the Materialization as JSON) on every change,
        `fragment` (the run page's live HTML) when asked, `end` once it finished."""
        backend = _backend(request)
        backend.run(namespace, name)  # 404 before the stream starts
        stream = _sse(request, backend, namespace, name, fragment)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/runs/{namespace}/{name}/steps/{step:path}/logs", response_class=StreamingResponse)
    def step_logs(
        request: Request,
        namespace: str,
        name: str,
        step: str,
        attempt: Annotated[int | None, Query(ge=1)] = None,
        follow: bool = False,
    ) -> StreamingResponse:
        """A step attempt's output as plain text; `follow=1` streams until it ends."""
        backend = _backend(request)
        backend.run(namespace, name)
        chunks = backend.step_logs(namespace, name, step, attempt, follow)
        return StreamingResponse(
            chunks,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/schedules", response_model=list[ScheduleView])
    def list_schedules(request: Request) -> list[ScheduleView]:
        return _backend(request).schedules()

    return router


async def _sse(
    request: Request, backend: Backend, namespace: str, name: str, fragment: bool
) -> AsyncIterator[str]:
    from kasset.ui.pages import render_run_live

    updates = backend.watch_run(namespace, name).__aiter__()
    pending: asyncio.Task[MaterializationResource] | None = None
    try:
        yield "retry: 2000\n\n"
        while True:
            if pending is None:
                pending = asyncio.ensure_future(updates.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=SSE_HEARTBEAT_SECONDS)
            if not done:
                yield ": keepalive\n\n"
                continue
            try:
                run = pending.result()
            except StopAsyncIteration:
                break
            finally:
                pending = None
            yield _event("status", json.dumps(run.to_dict(), separators=(",", ":")))
            if fragment:
                yield _event("fragment", render_run_live(request, run))
        yield _event("end", "{}")
    finally:
        if pending is not None:
            pending.cancel()


def _event(kind: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {kind}\n{lines}\n"
