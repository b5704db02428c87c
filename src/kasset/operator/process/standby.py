"""What a replica serves while it waits for the leader lease.

The standby must pass its probes (or Kubernetes would restart it in a loop and a rollout
could never finish), and events that reach it by accident must be retried elsewhere: so
`/healthz` and `/readyz` answer 200, everything else 503 with `Retry-After`. It stops
before the leader's server takes the same port.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["StandbyServer"]


class _StandbyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/healthz", "/readyz"):
            self._answer(200, b"standby\n")
        elif self.path.split("?", 1)[0] == "/metrics":
            self._answer(200, b"# TYPE kasset_operator_leader gauge\nkasset_operator_leader 0\n")
        else:
            self._answer(503, b"this replica is a standby; retry\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        self._answer(503, b"this replica is a standby; retry\n")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "2")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # probes every few seconds are not worth a log line


class StandbyServer:
    """`with StandbyServer(host, port): elector.acquire()`."""

    def __init__(self, host: str, port: int) -> None:
        self.server = ThreadingHTTPServer((host, port), _StandbyHandler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="standby-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> StandbyServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
