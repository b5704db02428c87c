"""Bounds on request bodies, enforced before the app reads them.

Every route that reads a body (the public `/login`, form posts, `POST /api/v1/runs`)
sits behind `BodyLimit`: a declared Content-Length over the limit is answered 413 before
a byte is read, and a chunked body is cut off (413) as soon as it passes the limit, so
one request can never make the process hold more than the limit. On a cluster the UI
lives in the operator's process, whose memory is limited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY_BYTES", "LOGIN_MAX_BODY_BYTES", "BodyLimit", "declared_length"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: The login form holds a token and a path: 16 KiB is generous.
LOGIN_MAX_BODY_BYTES = 16 * 1024


class _TooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so that a route reading its body answers
    413 through the app's handler (FastAPI turns other errors there into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def declared_length(headers: Mapping[bytes, bytes] | list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length; None when absent, -1 when malformed."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == b"content-length":
            text = value.strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyLimit:
    """ASGI middleware: at most `limit` bytes of body per request (`limits` per path)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = DEFAULT_MAX_BODY_BYTES,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        limit = self.limits.get(path, self.limit)
        declared = declared_length(list(scope.get("headers", [])))
        if declared is not None and (declared < 0 or declared > limit):
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
