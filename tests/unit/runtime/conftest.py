"""Fixtures of the runtime tests: a scripted event endpoint on 127.0.0.1, and a way to
write throwaway code locations."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Endpoint:
    """Answers each POST with the next scripted status (the last one repeats)."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [202])
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    @property
    def delivered_events(self) -> list[dict[str, Any]]:
        return [event for body in self.requests if body.get("ok") for event in body["events"]]


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            status = state.next_status()
            with state.lock:
                state.requests.append({**body, "ok": status < 300})
                state.authorizations.append(self.headers.get("Authorization"))
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/events"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def write_module(tmp_path: Path) -> Any:
    """Writes `source` as `<name>.py` in a fresh directory and returns that directory."""

    def write(name: str, source: str) -> Path:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        return tmp_path

    return write
