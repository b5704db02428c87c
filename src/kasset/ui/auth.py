"""Who may use the UI: one bearer token, sent as `Authorization: Bearer` by programs or
kept by browsers as a signed session cookie set by `/login`.

Cookie sessions are stateless: the cookie holds an issue time, a nonce and an HMAC of
both keyed by the token (never the token itself), so rotating the token ends every
session. Mutations from a cookie session need the same-origin `Origin` (or `Referer`)
and a CSRF token derived from the session (sent by our JS as `X-Kasset-CSRF`, or as the
`csrf` field of a form); a bearer header needs neither, as browsers never send one on
their own. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "AuthConfig",
    "AuthMiddleware",
    "Session",
    "TokenRedactingFilter",
    "is_loopback",
    "safe_next",
]

COOKIE_NAME = "kasset_session"
CSRF_HEADER = "x-kasset-csrf"
CSRF_FIELD = "csrf"
PUBLIC_PATHS = frozenset({"/healthz", "/metrics", "/login", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class AuthConfig:
    """How the UI authenticates. `token=None` turns authentication off (`kasset dev
    --auth none`, loopback only)."""

    token: str | None
    #: Mark the cookie Secure: True/False, or None to follow the request's scheme.
    secure_cookies: bool | None = None
    session_seconds: int = 12 * 3600
    #: Extra origins (`https://kasset.example.com`) allowed to POST, e.g. behind a proxy
    #: that rewrites Host.
    trusted_origins: tuple[str, ...] = field(default=())

    @property
    def enabled(self) -> bool:
        return self.token is not None

    @classmethod
    def disabled(cls) -> AuthConfig:
        return cls(token=None)

    @classmethod
    def generate(cls) -> AuthConfig:
        """A fresh random token, for `kasset dev`."""
        return cls(token=secrets.token_urlsafe(24))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AuthConfig:
        """`KASSET_UI_TOKEN`, else the file named by `KASSET_UI_TOKEN_FILE`."""
        env = os.environ if env is None else env
        token = env.get("KASSET_UI_TOKEN", "").strip()
        if not token and env.get("KASSET_UI_TOKEN_FILE"):
            token = Path(env["KASSET_UI_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
        if not token:
            raise ValueError("the UI needs a token: set KASSET_UI_TOKEN or KASSET_UI_TOKEN_FILE")
        return cls(token=token)

    def check_token(self, candidate: str) -> bool:
        if self.token is None:
            return True
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def new_session_cookie(self, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        nonce = secrets.token_urlsafe(12)
        return f"v1.{issued}.{nonce}.{self._mac(f'session.{issued}.{nonce}')}"

    def read_session(self, cookie: str, now: float | None = None) -> Session | None:
        """The session a cookie proves, or None if forged, malformed or expired."""
        parts = cookie.split(".")
        if self.token is None or len(parts) != 4 or parts[0] != "v1" or not _ascii_digits(parts[1]):
            return None
        issued, nonce, mac = int(parts[1]), parts[2], parts[3]
        expected = self._mac(f"session.{issued}.{nonce}")
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        age = (time.time() if now is None else now) - issued
        if age < -300 or age > self.session_seconds:
            return None
        return Session("cookie", self._mac(f"csrf.{nonce}")[:32])

    def _mac(self, message: str) -> str:
        if self.token is None:
            raise RuntimeError("no token: authentication is off")
        digest = hmac.new(self.token.encode(), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Session:
    """How a request authenticated: "bearer", "cookie", "none" (auth off) or "anonymous"
    (a public path); `csrf` is the token forms and our JS must echo."""

    kind: str
    csrf: str = ""


ANONYMOUS = Session("anonymous")


def _ascii_digits(text: str) -> bool:
    """`str.isdigit` accepts `²` and other digits `int` refuses (a 500 before)."""
    return text.isascii() and text.isdigit()


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address, maybe with a port or brackets) is this machine."""
    name = host.strip()
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def safe_next(target: str | None, default: str = "/") -> str:
    """A post-login redirect target: a local absolute path only (no `//host`, no scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class AuthMiddleware:
    """Authenticates every request but public paths; guards mutations against CSRF."""

    def __init__(self, app: ASGIApp, config: AuthConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = _local_path(scope)
        state = scope.setdefault("state", {})
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            state["kasset_session"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        session, problem = self._authenticate(headers)
        if session is None:
            # A program sent a bad token: tell it so, never redirect it to a login form.
            await _deny(scope, send, path, problem, program="authorization" in headers)
            return
        state["kasset_session"] = session
        if not self.config.enabled and not is_loopback(headers.get("host", "")):
            # Without a token, only loopback Host names: stops DNS-rebinding pages.
            await _plain(send, 403, "authentication is off: use 127.0.0.1 or localhost")
            return
        if scope["method"] in _UNSAFE_METHODS and session.kind != "bearer":
            if not self._same_origin(scope, headers):
                await _plain(send, 403, "cross-site request refused (Origin/Referer mismatch)")
                return
            if self.config.enabled:
                receive, ok = await _check_csrf(headers, receive, session.csrf)
                if not ok:
                    await _plain(send, 403, "missing or wrong CSRF token")
                    return
        await self.app(scope, receive, send)

    def _authenticate(self, headers: dict[str, str]) -> tuple[Session | None, str]:
        if not self.config.enabled:
            return Session("none"), ""
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "bearer" and self.config.check_token(credentials.strip()):
                return Session("bearer"), ""
            return None, "invalid bearer token"
        cookie = _cookie(headers.get("cookie", ""), COOKIE_NAME)
        if cookie:
            session = self.config.read_session(cookie)
            if session is not None:
                return session, ""
            return None, "session expired or invalid: log in again"
        return None, "authentication required"

    def _same_origin(self, scope: Scope, headers: dict[str, str]) -> bool:
        source = headers.get("origin") or headers.get("referer")
        if not source or source == "null":
            return False
        parts = urlsplit(source)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin in self.config.trusted_origins:
            return True
        host = headers.get("host", "")
        return bool(host) and parts.netloc.lower() == host.lower()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _local_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def _cookie(header: str, name: str) -> str:
    if not header:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


async def _check_csrf(
    headers: dict[str, str], receive: Receive, expected: str
) -> tuple[Receive, bool]:
    sent = headers.get(CSRF_HEADER)
    if sent is not None:
        return receive, hmac.compare_digest(sent.encode(), expected.encode())
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return receive, False
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return receive, False
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > _MAX_FORM_BYTES:
            return receive, False
    values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])
    ok = hmac.compare_digest(values[0].encode(), expected.encode())
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay, ok


async def _deny(scope: Scope, send: Send, path: str, problem: str, program: bool) -> None:
    if program or path.startswith("/api/") or scope["method"] != "GET":
        await _plain(
            send,
            401,
            problem,
            extra=[(b"www-authenticate", b'Bearer realm="kasset"')],
            json_body=True,
        )
        return
    query = scope.get("query_string", b"").decode("latin-1")
    target = path + (f"?{query}" if query else "")
    location = f"{scope.get('root_path', '')}/login?next={quote(target, safe='')}"
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _plain(
    send: Send,
    status: int,
    text: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    json_body: bool = False,
) -> None:
    if json_body:
        import json

        body = json.dumps({"detail": text}).encode()
        kind = b"application/json"
    else:
        body = text.encode()
        kind = b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]+")


class TokenRedactingFilter(logging.Filter):
    """Redacts `token=...` in log records (the `/login?token=` link of `kasset dev`
    would otherwise reach uvicorn's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_redact(arg) for arg in record.args)
        record.msg = _redact(record.msg)
        return True


def _redact(value: Any) -> Any:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", value) if isinstance(value, str) else value
