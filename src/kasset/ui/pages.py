"""The HTML pages. Each works without JavaScript (filters are query parameters, actions
are forms); kasset.js adds instant filtering, pan/zoom, live run updates and log tails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kasset.definitions.keys import AssetKey
from kasset.errors import KassetError
from kasset.naming import asset_object_name
from kasset.resources import AssetGraphResource, MaterializationResource, RunPhase
from kasset.ui.backend import Backend, BackendError, InvalidRequestError
from kasset.ui.catalog import catalog
from kasset.ui.launching import partition_selection
from kasset.ui.lineage_groups import Grouping, parse_expanded
from kasset.ui.lineage_view import lineage_view
from kasset.ui.model import graph_of, graph_ref
from kasset.ui.templating import base_path, launched_by, page, render_page_context
from kasset.ui.views import (
    asset_history,
    asset_row,
    partition_grid,
    run_row,
    timeline,
)

__all__ = ["build_pages_router", "render_run_live"]

_MAX_FORM_BYTES = 64 * 1024


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


async def _form(request: Request) -> dict[str, str]:
    # python-multipart is not a dependency: url-encoded forms are all the pages send.
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidRequestError("form too large")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _pick_graph(graphs: list[AssetGraphResource], ref: str | None) -> AssetGraphResource | None:
    if ref:
        for graph in graphs:
            if graph_ref(graph) == ref or graph.metadata.name == ref:
                return graph
        return None
    return graphs[0] if graphs else None


def _health(backend: Backend, graph: AssetGraphResource) -> dict[str, str]:
    ns, name = graph.metadata.namespace or "default", graph.metadata.name or ""
    return {
        a.spec.key: (a.status.health.value if a.status else "Missing")
        for a in backend.assets(ns, name)
    }


def build_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for method, path, handler in (
        ("GET", "/", home),
        ("GET", "/assets", assets_page),
        ("GET", "/lineage", lineage_page),
        ("GET", "/assets/{namespace}/{name}", asset_page),
        ("POST", "/assets/{namespace}/{name}/materialize", materialize_asset),
        ("POST", "/launch", launch_selection),
        ("GET", "/runs", runs_page),
        ("GET", "/runs/{namespace}/{name}", run_page),
        ("POST", "/runs/{namespace}/{name}/cancel", cancel_run),
        ("POST", "/runs/{namespace}/{name}/rerun", rerun_run),
        ("GET", "/schedules", schedules_page),
        ("GET", "/api", api_page),
    ):
        router.add_api_route(path, handler, methods=[method])
    return router


def home(request: Request) -> Response:
    return RedirectResponse(f"{base_path(request)}/assets", status_code=303)


def assets_page(
    request: Request,
    graph: str | None = None,
    group: str | None = None,
    health: str | None = None,
    q: str | None = None,
    page_number: int = Query(1, alias="page", ge=1, le=1_000_000),
) -> HTMLResponse:
    """The catalog: one page of rows in natural order, filtered here (kasset.js asks for
    the filtered page as you type)."""
    filters = {"graph": graph or "", "group": group or "", "health": health or "", "q": q or ""}
    found = catalog(_backend(request).assets(), page=page_number, **filters)
    return page(
        request,
        "assets.html",
        nav="assets",
        catalog=found,
        rows=found.rows,
        counts=found.counts,
        groups=found.groups,
        graphs=found.graphs,
        page_query=urlencode({k: v for k, v in filters.items() if v}),
        f_graph=filters["graph"],
        f_group=filters["group"],
        f_health=filters["health"],
        f_q=filters["q"],
    )


def lineage_page(
    request: Request,
    graph: str | None = None,
    select: str | None = None,
    launch_error: str | None = None,
    expand: str | None = None,
    by: str | None = None,
) -> HTMLResponse:
    """The graph as SVG, big graphs folded into group boxes (`expand` opens them); a bad
    selection shows the whole graph and the error inline."""
    backend = _backend(request)
    graphs = backend.graphs()
    chosen = _pick_graph(graphs, graph)
    context: dict[str, Any] = {"view": None, "error": "", "count": 0, "total": 0}
    if chosen is not None:
        grouping: Grouping | None = (
            "group" if by == "group" else "prefix" if by == "prefix" else None
        )
        context.update(_lineage(request, backend, chosen, select, parse_expanded(expand), grouping))
    return page(
        request,
        "lineage.html",
        status_code=400 if context["error"] else 200,
        nav="lineage",
        graphs=graphs,
        graph=chosen,
        graph_ref=graph_ref(chosen) if chosen else "",
        select=select or "",
        launch_error=launch_error or "",
        **context,
    )


def _lineage(
    request: Request,
    backend: Backend,
    chosen: AssetGraphResource,
    select: str | None,
    expanded: frozenset[str] | None,
    by: Grouping | None,
) -> dict[str, Any]:
    ns, name = chosen.metadata.namespace or "default", chosen.metadata.name or ""
    base = base_path(request)

    def href(key: str) -> str:
        return f"{base}/assets/{ns}/{asset_object_name(name, key)}"

    pure = graph_of(chosen)
    health = _health(backend, chosen)
    error = ""
    try:
        count = len(pure.select(select)) if select else len(pure)
    except KassetError as problem:
        error, select, count = str(problem), None, len(pure)
    view = lineage_view(
        pure,
        health,
        graph_ref=graph_ref(chosen),
        selection=select or None,
        expanded=expanded,
        by=by,
        href=href,
    )
    return {"view": view, "error": error, "count": count, "total": len(pure)}


def asset_page(request: Request, namespace: str, name: str) -> HTMLResponse:
    return _asset_page(request, namespace, name)


async def materialize_asset(request: Request, namespace: str, name: str) -> Response:
    form = await _form(request)
    backend = _backend(request)
    asset = backend.asset(namespace, name)
    selection = asset.spec.key + ("*" if form.get("downstream") else "")
    try:
        run = backend.launch(
            namespace,
            asset.spec.graph,
            selection,
            partition_selection(form.get("partitions")),
            launched_by(request),
        )
    except InvalidRequestError as problem:
        return _asset_page(
            request,
            namespace,
            name,
            error=str(problem),
            partitions=form.get("partitions", ""),
            status_code=400,
        )
    return RedirectResponse(f"{base_path(request)}/runs/{namespace}/{run}", status_code=303)


async def launch_selection(request: Request) -> Response:
    form = await _form(request)
    ns, name = form.get("namespace", ""), form.get("graph", "")
    selection = form.get("select") or "*"
    try:
        run = _backend(request).launch(
            ns, name, selection, partition_selection(form.get("partitions")), launched_by(request)
        )
    except InvalidRequestError as problem:
        target = (
            f"{base_path(request)}/lineage?graph={quote(f'{ns}/{name}')}"
            f"&select={quote(selection)}&launch_error={quote(str(problem))}"
        )
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"{base_path(request)}/runs/{ns}/{run}", status_code=303)


def runs_page(request: Request, graph: str | None = None, phase: str | None = None) -> HTMLResponse:
    backend = _backend(request)
    wanted = RunPhase(phase) if phase in {p.value for p in RunPhase} else None
    now = datetime.now(UTC)
    rows = [run_row(r, now) for r in backend.runs(None, graph or None, wanted, 500)]
    return page(
        request,
        "runs.html",
        nav="runs",
        rows=rows,
        graphs=sorted({g.metadata.name or "" for g in backend.graphs()}),
        f_graph=graph or "",
        f_phase=phase or "",
        phases=[p.value for p in RunPhase],
    )


def run_page(request: Request, namespace: str, name: str) -> HTMLResponse:
    run = _backend(request).run(namespace, name)
    return page(request, "run.html", nav="runs", run=run, **_run_context(run))


async def cancel_run(request: Request, namespace: str, name: str) -> Response:
    await _form(request)
    _backend(request).cancel(namespace, name)
    return RedirectResponse(f"{base_path(request)}/runs/{namespace}/{name}", status_code=303)


async def rerun_run(request: Request, namespace: str, name: str) -> Response:
    await _form(request)
    new = _backend(request).rerun_failed(namespace, name)
    return RedirectResponse(f"{base_path(request)}/runs/{namespace}/{new}", status_code=303)


def schedules_page(request: Request) -> HTMLResponse:
    return page(request, "schedules.html", nav="schedules", schedules=_backend(request).schedules())


def api_page(request: Request) -> HTMLResponse:
    """The JSON API's routes, from the OpenAPI schema (Swagger UI would need a CDN)."""
    schema = request.app.openapi()
    routes = [
        (method.upper(), path, spec.get("summary", ""), spec.get("description", ""))
        for path, methods in schema.get("paths", {}).items()
        for method, spec in methods.items()
    ]
    return page(request, "api.html", nav="api", routes=routes)


def _asset_page(
    request: Request,
    namespace: str,
    name: str,
    *,
    error: str = "",
    partitions: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    backend = _backend(request)
    asset = backend.asset(namespace, name)
    graph_name = asset.spec.graph
    now = datetime.now(UTC)
    upstream: list[str] = list(asset.spec.deps)
    downstream: list[str] = []
    try:
        pure = graph_of(backend.graph(namespace, graph_name))
        key = AssetKey.from_string(asset.spec.key)
        upstream = [k.to_string() for k in pure.parents(key)]
        downstream = [k.to_string() for k in pure.children(key)]
    except (BackendError, KassetError, KeyError):
        pass
    health = {
        a.spec.key: (a.status.health.value if a.status else "Missing")
        for a in backend.assets(namespace, graph_name)
    }
    runs = backend.runs(namespace, graph_name, None, 200)
    return page(
        request,
        "asset.html",
        status_code=status_code,
        nav="assets",
        asset=asset,
        row=asset_row(asset),
        upstream=upstream,
        downstream=downstream,
        health=health,
        history=asset_history(asset.spec.key, runs)[:100],
        grid=partition_grid(asset, now),
        error=error,
        partitions=partitions,
        graph_name=graph_name,
    )


def _run_context(run: MaterializationResource) -> dict[str, Any]:
    now = datetime.now(UTC)
    status = run.status
    phase = status.phase if status else RunPhase.PENDING
    failed = status is not None and (
        status.counts.failed or status.counts.skipped or status.counts.canceled
    )
    return {
        "row": run_row(run, now),
        "timeline": timeline(run, now),
        "finished": phase.finished,
        "can_rerun": phase.finished and bool(failed),
        "counts": status.counts if status else None,
    }


def render_run_live(request: Request, run: MaterializationResource) -> str:
    """The part of the run page that live updates replace."""
    env = request.app.state.templates
    context = {**render_page_context(request), "run": run, **_run_context(run)}
    return str(env.get_template("_run_live.html").render(**context))
