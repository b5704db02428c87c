"""`POST /api/v1/events`: where step pods report their events to the operator.

The endpoint authenticates a batch with the step token (see `auth`), bounds what a client
can make the operator read, drops events it has already accepted, and hands the rest to
the controller through `EventIngestSink`. Any client input gets a 4xx, never a 5xx: a
step pod retries 5xx and 503, and gives up on other 4xx.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Message

from kasset.operator.model.auth import verify_step_token
from kasset.operator.telemetry.metrics import OperatorMetrics
from kasset.runtime.events import Event

__all__ = [
    "EVENTS_PATH",
    "EventBatch",
    "EventIngestSink",
    "IngestResult",
    "RecentIds",
    "build_ingest_router",
]

EVENTS_PATH = "/api/v1/events"
#: Seconds a step pod should wait before retrying while the operator is not ready.
RETRY_AFTER_SECONDS = 2

_log = logging.getLogger(__name__)


class EventIngestSink(Protocol):
    """What the controller offers the endpoint."""

    def ready(self) -> bool:
        """False until the controller has restored its runs after a (re)start."""

    def namespace_of(self, run: str) -> str | None:
        """The namespace of the Materialization named ``run``, or None if unknown."""

    async def submit_events(self, namespace: str, run: str, events: list[Event]) -> None:
        """Fold accepted, not yet seen events of one step attempt into the run."""


class EventBatch(BaseModel):
    """The request body: events of one step attempt (same run, step and attempt)."""

    model_config = ConfigDict(extra="ignore")  # like `Event`: newer runtimes may add keys

    events: Annotated[list[Event], Field(min_length=1)]


class IngestResult(BaseModel):
    """The 202 response: how many events were new and how many were already accepted."""

    accepted: int
    duplicates: int


class _Problem(BaseModel):
    detail: str


class RecentIds:
    """A bounded set of recently accepted event ids, oldest forgotten first.

    Dedupe here is a fast path for retries; the controller dedupes too, so forgetting an
    old id costs a redundant submit, never a double count.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._ids[event_id] = None
            self._ids.move_to_end(event_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def discard(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._ids.pop(event_id, None)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _unauthorized(detail: str) -> JSONResponse:
    return _problem(401, detail, {"WWW-Authenticate": 'Bearer realm="kasset"'})


def _unavailable(detail: str) -> JSONResponse:
    return _problem(503, detail, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _not_utf8(position: int) -> JSONResponse:
    """A 422 shaped like FastAPI's own validation errors (JSON must be UTF-8, RFC 8259)."""
    error = {
        "type": "json_invalid",
        "loc": ["body", position],
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": "the body is not UTF-8"},
    }
    return JSONResponse({"detail": [error]}, status_code=422)


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _type_name(event: Event) -> str:
    kind: Any = event.type
    return str(getattr(kind, "value", kind))


_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _guarded_route_class(max_body_bytes: int, metrics: OperatorMetrics | None) -> type[APIRoute]:
    """An APIRoute that times the request, rejects a missing bearer token before reading the
    body, and reads at most ``max_body_bytes`` whatever Content-Length claims."""

    class _GuardedRoute(APIRoute):
        def get_route_handler(self) -> _Handler:
            parse_and_handle = super().get_route_handler()

            async def handler(request: Request) -> Response:
                started = time.perf_counter()
                try:
                    return await _guard(request, parse_and_handle)
                finally:
                    if metrics is not None:
                        metrics.ingest_latency(time.perf_counter() - started)

            return handler

    async def _guard(request: Request, parse_and_handle: _Handler) -> Response:
        if _bearer_token(request) is None:
            return _unauthorized("missing or malformed 'Authorization: Bearer <token>' header")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return _too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                return _too_large()
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            body.decode("utf-8")  # else FastAPI answers an undocumented 400
        except UnicodeDecodeError as error:
            return _not_utf8(error.start)
        return await parse_and_handle(_replaying(request, body))

    def _too_large() -> JSONResponse:
        return _problem(413, f"request body larger than {max_body_bytes} bytes")

    return _GuardedRoute


def _replaying(request: Request, body: bytes) -> Request:
    """A request for the same scope whose body is ``body``, already read once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def build_ingest_router(
    sink: EventIngestSink,
    secret: bytes,
    metrics: OperatorMetrics | None,
    *,
    max_body_bytes: int = 1_048_576,
    max_events: int = 1000,
    recent_ids: RecentIds | None = None,
) -> APIRouter:
    """The router serving ``POST /api/v1/events`` for the operator's app.

    >>> app.include_router(build_ingest_router(controller, secret, metrics))  # doctest: +SKIP
    """
    seen = recent_ids if recent_ids is not None else RecentIds()
    router = APIRouter(route_class=_guarded_route_class(max_body_bytes, metrics))

    @router.post(
        EVENTS_PATH,
        status_code=202,
        response_model=IngestResult,
        summary="Report events of one step attempt",
        tags=["events"],
        responses={
            401: {"model": _Problem, "description": "Missing, malformed or wrong step token"},
            403: {"model": _Problem, "description": "Events of more than one step attempt"},
            404: {"model": _Problem, "description": "No such run"},
            413: {"model": _Problem, "description": "Body or batch too large"},
            503: {"model": _Problem, "description": "Operator not ready; retry later"},
        },
    )
    async def ingest_events(batch: EventBatch, request: Request) -> Response:
        """Accept a batch of events from one step attempt; replays are accepted once."""
        events = batch.events
        if len(events) > max_events:
            return _problem(413, f"more than {max_events} events in one batch")
        if not sink.ready():
            return _unavailable("the operator is starting; retry later")
        token = _bearer_token(request) or ""
        first = events[0]
        # Step pods post to `...?namespace=NS`, which makes runs of the same name in two
        # namespaces unambiguous; the token binds the namespace, so it cannot be forged.
        namespace = request.query_params.get("namespace") or sink.namespace_of(first.run)
        if namespace is None:
            return _problem(404, f"no run named {first.run!r}")
        if not verify_step_token(secret, namespace, first.run, first.step, first.attempt, token):
            return _unauthorized("the token is not valid for this step attempt")
        identity = (first.run, first.step, first.attempt)
        if any((e.run, e.step, e.attempt) != identity for e in events[1:]):
            return _problem(403, "all events of a batch must belong to the token's step attempt")

        fresh: dict[str, Event] = {}
        for event in events:
            event_id = str(event.id)
            if event_id not in seen and event_id not in fresh:
                fresh[event_id] = event
        duplicates = len(events) - len(fresh)
        if fresh:
            # Claim the ids before awaiting so a concurrent replay is not submitted twice;
            # release them if the controller fails, so the step's retry gets through.
            seen.add(fresh)
            try:
                await sink.submit_events(namespace, first.run, list(fresh.values()))
            except Exception:
                seen.discard(fresh)
                _log.exception("submitting %d events of run %s failed", len(fresh), first.run)
                return _unavailable("the operator could not record the events; retry later")
        if metrics is not None:
            counts: dict[str, int] = {}
            for event in fresh.values():
                counts[_type_name(event)] = counts.get(_type_name(event), 0) + 1
            for type_name, n in counts.items():
                metrics.events_ingested(type_name, n)
        return JSONResponse(
            IngestResult(accepted=len(fresh), duplicates=duplicates).model_dump(),
            status_code=202,
        )

    return router
