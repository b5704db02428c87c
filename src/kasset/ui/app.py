"""The UI's application factories: `create_app(backend, auth=...)` for any backend, and
`create_cluster_ui()` that the operator mounts (Kubernetes backend, token from the env).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kasset.ui.api import build_api_router
from kasset.ui.auth import AuthConfig, AuthMiddleware
from kasset.ui.backend import (
    Backend,
    BackendError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from kasset.ui.bodylimit import LOGIN_MAX_BODY_BYTES, BodyLimit
from kasset.ui.login import build_login_router
from kasset.ui.pages import build_pages_router
from kasset.ui.telemetry import UIMetrics
from kasset.ui.templating import build_environment, page

__all__ = ["STATIC_DIR", "create_app", "create_cluster_ui"]

STATIC_DIR = Path(__file__).with_name("static")
_STATUS = {NotFoundError: 404, InvalidRequestError: 400, ConflictError: 409}
# No inline scripts or styles anywhere: the SVG and the pages use kasset.css classes.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(backend: Backend, *, auth: AuthConfig) -> FastAPI:
    """The UI over `backend`. Every route but /healthz, /metrics, /login and /static
    needs the token of `auth` (unless auth is off: `AuthConfig.disabled()`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        close = getattr(backend, "close", None)
        if callable(close):
            close()

    app = FastAPI(
        title="kasset UI",
        summary="Assets, lineage, runs and schedules of kasset.",
        version="v1",
        docs_url=None,  # Swagger UI would load from a CDN; /api lists the routes instead
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.backend = backend
    app.state.auth = auth
    app.state.templates = build_environment()
    app.state.metrics = UIMetrics()
    app.include_router(build_api_router())
    app.include_router(build_login_router())
    app.include_router(build_pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = app.state.metrics.exposition()
        return Response(body, media_type=content_type)

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, error: BackendError) -> Response:
        status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 500)
        return _error(request, status, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if _is_api(request):
            # jsonable_encoder, as FastAPI's own handler: a model validator's ctx holds
            # the exception object, which plain JSON cannot encode (a 500 otherwise).
            # Without `input`: a NaN or Infinity the client sent cannot be encoded (a 500).
            errors = [{k: v for k, v in e.items() if k != "input"} for e in error.errors()]
            return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
        return _error(request, 400, "; ".join(str(e.get("msg")) for e in error.errors()))

    app.add_middleware(AuthMiddleware, config=auth)
    # A 1,000-asset lineage is ~0.9 MB of SVG, ~10x smaller gzipped. Streamed logs stay
    # uncompressed so that each chunk reaches the browser at once.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=4096,
        compresslevel=5,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "text/plain"),
    )
    app.add_middleware(_SecurityHeaders)
    app.add_middleware(_Timing, metrics=app.state.metrics)
    # Outermost: no layer (the CSRF check included) reads more body than this.
    app.add_middleware(BodyLimit, limits={"/login": LOGIN_MAX_BODY_BYTES})
    return app


def create_cluster_ui(
    namespaces: list[str] | None = None, *, auth: AuthConfig | None = None
) -> FastAPI:
    """The UI of `kasset operator`: reads the cluster through watches (a page view costs
    no API call). The token comes from KASSET_UI_TOKEN or KASSET_UI_TOKEN_FILE."""
    from kasset.ui.kube_backend import KubeBackend

    backend = KubeBackend.from_environment(namespaces)
    backend.start()
    return create_app(backend, auth=auth or AuthConfig.from_env())


def _is_api(request: Request) -> bool:
    root = str(request.scope.get("root_path", ""))
    return request.url.path[len(root) :].startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return page(request, "error.html", status_code=status, status=status, message=message)


class _SecurityHeaders:
    """CSP and friends on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class _Timing:
    """Counts requests and their server time by route template (not by URL, so a
    thousand assets make one series)."""

    def __init__(self, app: ASGIApp, metrics: UIMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                self.metrics.observe(
                    _route_of(scope),
                    scope["method"],
                    message["status"],
                    time.perf_counter() - start,
                )
            await send(message)

        await self.app(scope, receive, record)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
