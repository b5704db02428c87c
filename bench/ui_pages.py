"""Server time of the UI's heaviest pages at 100 and 1,000 assets (synthetic graphs).

    .venv/bin/python bench/ui_pages.py [--repeat 15] [--uvicorn]

"cold" is the first request after the lineage layout cache was cleared (Graphviz runs);
"cached" is the median of the following requests. The budget is 300 ms at 1,000 assets.
With --uvicorn the pages are fetched over HTTP from a real server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from collections.abc import Callable

import httpx

from bench.memory_backend import MemoryBackend
from kasset.ui.app import create_app
from kasset.ui.auth import AuthConfig
from kasset.ui.lineage import clear_layout_cache

TOKEN = "bench"
BUDGET_MS = 300.0
PAGES = {
    "lineage": "/lineage",
    "catalog": "/assets",
    "run": "/runs/demo/synthetic-nightly",
    "assets API": "/api/v1/assets",
}


def _in_process(backend: MemoryBackend) -> tuple[Callable[[str], int], Callable[[], None]]:
    from fastapi.testclient import TestClient

    client = TestClient(
        create_app(backend, auth=AuthConfig(token=TOKEN)),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return (lambda path: len(client.get(path).content)), client.close


def _over_http(backend: MemoryBackend) -> tuple[Callable[[str], int], Callable[[], None]]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(backend, auth=AuthConfig(token=TOKEN))
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}
    )

    def stop() -> None:
        client.close()
        server.should_exit = True
        thread.join(5)

    return (lambda path: len(client.get(path).content)), stop


def measure(size: int, repeat: int, http: bool) -> list[tuple[str, float, float, int]]:
    backend = MemoryBackend.synthetic(size)
    fetch, stop = (_over_http if http else _in_process)(backend)
    rows = []
    try:
        for label, path in PAGES.items():
            clear_layout_cache()
            start = time.perf_counter()
            length = fetch(path)
            cold = (time.perf_counter() - start) * 1000
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                fetch(path)
                times.append((time.perf_counter() - start) * 1000)
            rows.append((label, cold, statistics.median(times), length))
    finally:
        stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--uvicorn", action="store_true", help="over HTTP from uvicorn")
    args = parser.parse_args()
    over = "uvicorn + httpx" if args.uvicorn else "in-process TestClient"
    print(f"UI page server time ({over}), median of {args.repeat}; budget {BUDGET_MS:.0f} ms")
    print(f"{'assets':>6}  {'page':<11} {'cold ms':>8} {'cached ms':>10} {'KiB':>7}")
    over_budget = False
    for size in (100, 1000):
        for label, cold, cached, length in measure(size, args.repeat, args.uvicorn):
            flag = "  OVER BUDGET" if cached > BUDGET_MS else ""
            over_budget |= bool(flag)
            print(
                f"{size:>6}  {label:<11} {cold:>8.1f} {cached:>10.1f} {length / 1024:>7.0f}{flag}"
            )
    return 1 if over_budget else 0


if __name__ == "__main__":
    raise SystemExit(main())
