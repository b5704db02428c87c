"""Comparison 6: the history store on each backend: events written per second through the
batched writer, what `submit` costs the operator's hot path, and the server time of the
pages the UI will read at scale (100,000 materializations of one asset; 100,000 runs).

SQLite is a file in a temporary directory (WAL, full fsync); PostgreSQL is Debian's
server started here as in the tests (tests/postgres.py), with fsync on. Query times are
medians of repeated calls of the store's methods (no HTTP): the server side of a page.

    .venv/bin/python -m bench.history [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import Goal, Section, Table, fmt_ms, render_text

__all__ = ["run_history"]

PAGE_GOAL_S = 0.300
ROWS = 100_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_TESTS = Path(__file__).resolve().parent.parent / "tests"


@contextlib.contextmanager
def _backends(quick: bool) -> Iterator[list[tuple[str, Callable[[str], str]]]]:
    """(name, make a fresh database URL) for each backend."""
    sys.path.insert(0, str(_TESTS))
    from postgres import PostgresServer

    with (
        tempfile.TemporaryDirectory(prefix="kasset-history-bench-") as tmp,
        PostgresServer.started(fsync=True) as server,
    ):
        yield [
            ("SQLite", lambda name: str(Path(tmp) / f"{name}.db")),
            ("PostgreSQL", server.create_database),
        ]


def _materialization(number: int, asset: str = "raw/orders") -> Any:
    from kasset.history import HistoryEvent

    return HistoryEvent(
        id=f"m-{asset}-{number}",
        kind="ASSET_MATERIALIZED",
        namespace="data",
        graph="shop",
        timestamp=T0 + timedelta(seconds=number),
        run=f"run-{number}",
        step=asset,
        asset=asset,
        attempt=1,
        payload={
            "metadata": {
                "rows": number,
                "bytes": number * 100,
                "seconds": {"type": "float", "value": number / 1000},
                "path": f"s3://bucket/{asset}/{number}.parquet",
                "schema": {"type": "md", "value": "| a | b |\n|---|---|\n| int | str |"},
            },
            "dataVersion": f"v{number}",
        },
    )


def _run_event(number: int) -> Any:
    from kasset.history import run_phase_event

    return run_phase_event(
        namespace="data",
        graph=f"graph-{number % 5}",
        run=f"run-{number:06d}",
        phase="Failed" if number % 10 == 0 else "Succeeded",
        timestamp=T0 + timedelta(seconds=number * 10),
        launched_by="ui:alice" if number % 100 == 0 else f"schedule:s{number % 3}",
        selection="*",
        assets=(f"asset-{number % 20}", f"asset-{(number + 7) % 20}"),
    )


def _timed(call: Callable[[], object], reps: int) -> float:
    call()  # warm the caches and the connection pool, as a live server has them
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _bulk(store: Any, events: Iterator[Any], batch: int = 5000) -> None:
    chunk: list[Any] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == batch:
            store.append(chunk)
            chunk = []
    if chunk:
        store.append(chunk)


def _writes(url: str, count: int) -> tuple[float, float]:
    """(events per second through the writer, seconds per submit call)."""
    from kasset.history.store import open_store
    from kasset.history.writer import HistoryWriter

    store = open_store(url)
    writer = HistoryWriter(store, capacity=count + 1, batch_size=500, flush_interval=0.05)
    events = [_materialization(n, asset=f"a{n % 50}") for n in range(count)]
    writer.start()
    t0 = time.perf_counter()
    for event in events:
        writer.submit(event)
    submitted = time.perf_counter() - t0
    assert writer.stop(timeout=600), "the writer did not catch up"
    total = time.perf_counter() - t0
    store.close()
    return count / total, submitted / count


def _queries(url: str, rows: int, reps: int, say: Callable[[str], None]) -> dict[str, float]:
    from kasset.history import MATERIALIZED, RunFilter
    from kasset.history.api import encode_cursor
    from kasset.history.schema import to_micros
    from kasset.history.store import open_store

    store = open_store(url)
    t0 = time.perf_counter()
    _bulk(store, (_materialization(n) for n in range(rows)))
    _bulk(store, (_materialization(n, asset=f"other-{n % 10}") for n in range(rows // 10)))
    _bulk(store, (_run_event(n) for n in range(rows)))
    filled = time.perf_counter() - t0
    say(f"    filled {rows:,} materializations and {rows:,} runs in {filled:.0f} s")
    middle = encode_cursor(to_micros(T0 + timedelta(seconds=rows // 2)), rows)
    run_cursor = encode_cursor(to_micros(T0 + timedelta(seconds=rows * 5)), "run-050000")
    since, until = T0 + timedelta(seconds=rows * 2), T0 + timedelta(seconds=rows * 3)
    cases: dict[str, Callable[[], object]] = {
        "asset history, first page": lambda: store.asset_events(
            "data", "shop", "raw/orders", [MATERIALIZED], limit=50
        ),
        "asset history, page in the middle": lambda: store.asset_events(
            "data", "shop", "raw/orders", [MATERIALIZED], limit=50, cursor=middle
        ),
        "asset history, materializations + observations": lambda: store.asset_events(
            "data", "shop", "raw/orders", [MATERIALIZED, "ASSET_OBSERVED"], limit=50
        ),
        "plot: newest 1,000 values of one key": lambda: store.metadata_series(
            "data", "shop", "raw/orders", "rows", limit=1000
        ),
        "plot: numeric keys of the asset": lambda: store.metadata_keys(
            "data", "shop", "raw/orders"
        ),
        "runs, first page": lambda: store.runs("data", limit=50),
        "runs, page in the middle": lambda: store.runs("data", limit=50, cursor=run_cursor),
        "runs by graph": lambda: store.runs("data", RunFilter(graph="graph-3"), limit=50),
        "runs by phase (Failed, 10%)": lambda: store.runs(
            "data", RunFilter(phases=("Failed",)), limit=50
        ),
        "runs by launcher (1%)": lambda: store.runs(
            "data", RunFilter(launched_by="ui:alice"), limit=50
        ),
        "runs by asset": lambda: store.runs("data", RunFilter(asset="asset-4"), limit=50),
        "runs in a time range": lambda: store.runs(
            "data", RunFilter(since=since, until=until), limit=50
        ),
        "runs by graph + asset + phase": lambda: store.runs(
            "data", RunFilter(graph="graph-0", asset="asset-0", phases=("Failed",)), limit=50
        ),
        "search 'asset-1' (assets and runs)": lambda: store.search("data", "asset-1"),
    }
    measured = {name: _timed(call, reps) for name, call in cases.items()}
    store.close()
    return measured


def run_history(quick: bool = False, say: Callable[[str], None] = print) -> Section:
    section = Section("history", "6. History store: writes and pages at 100,000 rows")
    writes = 10_000 if quick else 50_000
    reps = 3 if quick else 7
    section.notes.append(
        f"Writes: {writes:,} materializations (5 metadata entries each) submitted as fast as "
        "possible to one `HistoryWriter` (batches of 500), until all are committed. "
        f"Queries: medians of {reps} calls after one warm-up, on {ROWS:,} materializations "
        f"of one asset (plus {ROWS // 10:,} of others) and {ROWS:,} runs (5 graphs, 20 "
        "assets), pages of 50."
    )
    write_table = Table(
        "events written per second, and the cost of submit()",
        ["backend", "events/s (sustained)", "submit() per event"],
    )
    query_table = Table(f"server time of a page at {ROWS:,} rows", ["query"])
    results: dict[str, dict[str, float]] = {}
    with _backends(quick) as backends:
        for name, new_url in backends:
            say(f"  {name}: writing {writes:,} events")
            rate, per_submit = _writes(new_url("writes"), writes)
            write_table.add(name, f"{rate:,.0f}", fmt_ms(per_submit))
            say(f"  {name}: querying")
            results[name] = _queries(new_url("queries"), ROWS, reps, say)
            query_table.headers.append(name)
    for query in next(iter(results.values())):
        query_table.add(query, *(fmt_ms(results[name][query]) for name in results))
    section.tables += [write_table, query_table]
    for name, measured in results.items():
        for label, prefix in (("asset history page", "asset history"), ("runs page", "runs")):
            worst_name, worst = max(
                ((q, t) for q, t in measured.items() if q.startswith(prefix)), key=lambda x: x[1]
            )
            section.goals.append(
                Goal(
                    f"{label} at {ROWS:,} rows, {name}",
                    f"< {PAGE_GOAL_S * 1000:.0f} ms",
                    f"{fmt_ms(worst)} (slowest: {worst_name})",
                    worst < PAGE_GOAL_S,
                )
            )
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    section = run_history(quick=args.quick)
    for table in section.tables:
        print("\n" + render_text(table))
    for goal in section.goals:
        print(f"goal {goal.name}: {goal.target}, measured {goal.measured}, met: {goal.met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
