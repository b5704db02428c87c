"""The UI's heaviest pages at 1,000 and 10,000 assets: server time, and time to first
paint and to a painted page in a real headless Chromium.

    .venv/bin/python bench/ui_pages.py [--repeat 5] [--sizes 1000,10000] [--no-browser]

Two backends serve the same pages: `dev` is `kasset dev` (a LocalBackend over a generated
module of N assets in 20 groups, keys a0..aN-1), `cluster` the resources as the operator's
UI holds them (MemoryBackend.synthetic: N assets in 10 groups, health, a run). "cold" is
the first request after the layout caches were cleared (Graphviz runs); "warm" the median
of the following ones. Browser: a fresh context per page (no HTTP cache) for cold, the
same context after; first paint is the browser's first-contentful-paint, "painted" the
first animation frame after the load event (the SVG drawn, kasset.js run).

No budget is asserted here; the goals (lineage < 1 s server and browser, catalog < 300 ms
server) are printed next to the numbers.
"""

from __future__ import annotations

import argparse
import importlib
import math
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN = "bench"
GROUPS = 20
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
GOALS_MS = {"lineage": 1000.0, "catalog": 300.0}
_PAINTED = """() => new Promise((done) => requestAnimationFrame(() => setTimeout(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  done({response: nav.responseEnd, fcp: fcp ? fcp.startTime : NaN, painted: performance.now()});
}, 0)))"""


@dataclass(frozen=True)
class Row:
    backend: str
    size: int
    page: str
    server_cold: float
    server_warm: float
    kib: float
    fcp_cold: float = float("nan")
    painted_cold: float = float("nan")
    fcp_warm: float = float("nan")
    painted_warm: float = float("nan")


def _pages(backend: str, size: int) -> dict[str, str]:
    middle = f"a{size // 2}" if backend == "dev" else f"g{(size // 2) % 10}/asset_{size // 2:05d}"
    group = "g3"
    return {
        "lineage": "/lineage",
        "lineage, a group open": f"/lineage?expand={group}",
        "lineage, focus +key+": f"/lineage?select=%2B{middle.replace('/', '%2F')}%2B",
        "catalog": "/assets",
        "catalog, filtered": f"/assets?q={middle[:-1]}",
    }


def _dev_module(size: int, where: Path) -> str:
    """A module of `size` assets in 20 groups: a{i} depends on up to two of the 40 before."""
    lines = [
        "import random",
        "from kasset import Definitions, asset",
        "rng = random.Random(7)",
        "def make(i, deps):",
        f"    @asset(name=f'a{{i}}', group=f'g{{i % {GROUPS}}}', deps=deps)",
        "    def step() -> int:",
        "        return i",
        "    return step",
        "items = []",
        f"for i in range({size}):",
        "    window = [f'a{j}' for j in range(max(0, i - 40), max(0, i - 20))]",
        "    items.append(make(i, rng.sample(window, min(len(window), 2))))",
        "defs = Definitions(assets=items)",
    ]
    name = f"bench_ui_{size}"
    (where / f"{name}.py").write_text("\n".join(lines) + "\n")
    return name


def _backend(kind: str, size: int, home: Path) -> Any:
    if kind == "cluster":
        from bench.memory_backend import MemoryBackend

        return MemoryBackend.synthetic(size)
    from kasset.local.loading import load_definitions
    from kasset.ui.local_backend import LocalBackend

    module = _dev_module(size, home)
    sys.path.insert(0, str(home))
    try:
        location, defs = load_definitions(f"{module}:defs", cwd=home)
    finally:
        sys.path.remove(str(home))
    return LocalBackend(defs, location, home=home / ".kasset", warm_layout=False)


def _clear_caches() -> None:
    from kasset.ui.lineage import clear_layout_cache

    clear_layout_cache()
    model = importlib.import_module("kasset.ui.model")
    for name in ("_cache", "_by_object"):  # the latter is newer than the bench's first run
        cache = getattr(model, name, None)
        if cache is not None:
            cache.clear()


@contextmanager
def _serve(backend: Any) -> Iterator[str]:
    import uvicorn

    from kasset.ui.app import create_app
    from kasset.ui.auth import AuthConfig

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(backend, auth=AuthConfig(token=TOKEN))
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _server_times(url: str, path: str, repeat: int) -> tuple[float, float, int]:
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        _clear_caches()
        start = time.perf_counter()
        response = client.get(path, timeout=120)
        cold = (time.perf_counter() - start) * 1000
        response.raise_for_status()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(path, timeout=120).raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return cold, statistics.median(times), len(response.content)


def _browser_times(browser: Any, url: str, repeat: int) -> tuple[float, float, float, float]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {TOKEN}"},
    )
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        _clear_caches()
        page.goto(url, wait_until="load")
        cold = page.evaluate(_PAINTED)
        warm = []
        for _ in range(repeat):
            page.goto(url, wait_until="load")
            warm.append(page.evaluate(_PAINTED))
    finally:
        context.close()
    return (
        cold["fcp"],
        cold["painted"],
        statistics.median(w["fcp"] for w in warm),
        statistics.median(w["painted"] for w in warm),
    )


def measure(
    kind: str, size: int, repeat: int, browser: Any, say: Callable[[str], None] = print
) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="kasset-bench-ui-") as tmp:
        started = time.perf_counter()
        backend = _backend(kind, size, Path(tmp))
        say(f"  {kind} backend of {size} assets ready in {time.perf_counter() - started:.1f} s")
        with _serve(backend) as url:
            for label, path in _pages(kind, size).items():
                cold, warm, length = _server_times(url, path, repeat)
                timings = _browser_times(browser, url + path, repeat) if browser else ()
                rows.append(Row(kind, size, label, cold, warm, length / 1024, *timings))
    return rows


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--backends", default="dev,cluster")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    header = (
        f"{'backend':<8}{'assets':>7}  {'page':<22}{'server cold':>12}{'warm':>7}{'KiB':>7}"
        f"{'FCP cold':>10}{'painted':>9}{'FCP warm':>10}{'painted':>9}   (ms)"
    )

    def run(browser: Any) -> None:
        rows = [
            row
            for kind in args.backends.split(",")
            for size in sizes
            for row in measure(kind, size, args.repeat, browser)
        ]
        print(
            f"\nUI pages, median of {args.repeat} warm requests; goals: lineage < 1000 ms "
            "server and painted, catalog < 300 ms server"
        )
        print(header)
        for r in rows:
            print(
                f"{r.backend:<8}{r.size:>7}  {r.page:<22}{_fmt(r.server_cold):>12}"
                f"{_fmt(r.server_warm):>7}{_fmt(r.kib):>7}{_fmt(r.fcp_cold):>10}"
                f"{_fmt(r.painted_cold):>9}{_fmt(r.fcp_warm):>10}{_fmt(r.painted_warm):>9}"
            )

    if args.no_browser:
        run(None)
        return 0
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            run(browser)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
