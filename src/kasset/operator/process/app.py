"""The operator's HTTP server: event ingest, health, metrics, and the UI when installed.

Served by uvicorn inside kopf's event loop (started on kopf startup, stopped on cleanup),
so the ingest endpoint calls the run intake directly: no queue, no thread hop, which is
what lets a step's success create the next pod within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Response

from kasset.operator.ingest.endpoint import EventIngestSink, build_ingest_router

__all__ = ["OperatorServer", "build_app"]

logger = logging.getLogger(__name__)


def build_app(
    sink: EventIngestSink,
    secret: bytes,
    metrics: Any,
    registry: Any = None,
    ready: Callable[[], bool] | None = None,
    namespaces: Sequence[str] = (),
    ui: bool = True,
) -> FastAPI:
    """The FastAPI app: /api/v1/events, /healthz, /readyz, /metrics, and / (UI)."""
    app = FastAPI(title="kasset operator", docs_url=None, redoc_url=None)
    app.include_router(build_ingest_router(sink, secret, metrics))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        ok = ready() if ready is not None else sink.ready()
        return Response("ok" if ok else "starting", status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

        return Response(generate_latest(registry or REGISTRY), media_type=CONTENT_TYPE_LATEST)

    if ui:
        _mount_ui(app, namespaces)
    return app


def _mount_ui(app: FastAPI, namespaces: Sequence[str]) -> None:
    """Mounts the web UI at / (after the operator's own routes, which win). Without a
    token the UI stays off: it is never served unauthenticated from the cluster."""
    try:
        from kasset.ui.app import create_cluster_ui
        from kasset.ui.auth import AuthConfig
    except ImportError as error:
        logger.warning("the UI is not installed (%s): serving the API only", error)
        return
    try:
        auth = AuthConfig.from_env()
    except (ValueError, OSError) as error:
        logger.warning("the UI is off: %s", error)
        return
    app.mount("/", create_cluster_ui(list(namespaces) or None, auth=auth))


class OperatorServer:
    """uvicorn on the running loop, without its own signal handlers (kopf owns them)."""

    def __init__(self, app: FastAPI, host: str = "0.0.0.0", port: int = 8080) -> None:
        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

            def install_signal_handlers(self) -> None:  # older uvicorn
                pass

        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.server.serve())
        while not self.server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises the bind error

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
