"""Where the seconds of the inter-step gap tail and of a wide launch go, told by the
components' own metrics: the API server's (request latency, API Priority and Fairness
waits and 429s), the scheduler's (scheduling latency, its client's rate-limiter wait) and
the operator's (gap histogram, sampled over time, and its writes).

    flock /tmp/kasset-cluster.lock .venv/bin/python -m bench.gap_breakdown \\
        [--backfill 1000] [--fan-out 500,1000] [--qps 100,1000]

Each scenario runs once per operator client budget (`--api-qps`/`--api-burst`): the
default 100/200, and one high enough never to bind, so the difference is the operator's
client limit and what remains is the cluster's. Runs on hack/kwok's fake nodes (tainted:
nobody else's pods land there) in namespaces of their own, deleted afterwards.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Samples", "delta", "parse_metrics", "quantile", "run"]

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
PKI = Path("/var/lib/kasset-cluster/pki")
SCHEDULER = "https://127.0.0.1:10259/metrics"
GAP = "kasset_inter_step_gap_seconds"
REJECTED = "apiserver_flowcontrol_rejected_requests_total"
SLI = "scheduler_pod_scheduling_sli_duration_seconds"
LIMITER = "rest_client_rate_limiter_duration_seconds"


def _sub(want: Mapping[str, str]) -> str:
    return f"/{want['subresource']}" if want.get("subresource") else ""


def parse_metrics(text: str) -> Series:
    """A Prometheus text exposition as {(name, labels): value}.

    >>> parse_metrics('a_total{verb="POST"} 3\\nb 1.5')[("a_total", frozenset({("verb", "POST")}))]
    3.0
    """
    series: Series = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        series[(name, frozenset(_LABEL.findall(labels or "")))] = number
    return series


def delta(after: Series, before: Series) -> Series:
    """What happened between two scrapes (counters and histogram buckets)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def _matches(labels: frozenset[tuple[str, str]], want: Mapping[str, str]) -> bool:
    have = dict(labels)
    return all(have.get(k) == v for k, v in want.items())


def total(series: Series, name: str, **want: str) -> float:
    return sum(v for (n, labels), v in series.items() if n == name and _matches(labels, want))


def quantile(series: Series, name: str, q: float, **want: str) -> float:
    """histogram_quantile(q, sum by (le) (name_bucket{want})), as Prometheus computes it.

    >>> s = parse_metrics('h_bucket{le="1"} 50\\nh_bucket{le="2"} 100\\nh_bucket{le="+Inf"} 100')
    >>> quantile(s, "h", 0.75)
    1.5
    """
    buckets: dict[float, float] = {}
    for (n, labels), value in series.items():
        if n != f"{name}_bucket" or not _matches(labels, want):
            continue
        le = dict(labels)["le"]
        bound = math.inf if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + value
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return math.nan
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def mean(series: Series, name: str, **want: str) -> float:
    count = total(series, f"{name}_count", **want)
    return total(series, f"{name}_sum", **want) / count if count else math.nan


@dataclass
class Samples:
    """The operator's gap histogram scraped every `every` seconds during a run, so the
    tail can be placed in time (the first seconds of a backfill, or all along)."""

    fetch: Callable[[], str]
    every: float = 2.0
    points: list[tuple[float, Series]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.every):
            try:
                self.points.append((time.monotonic() - start, parse_metrics(self.fetch())))
            except (OSError, RuntimeError):
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def windows(self, width: float = 10.0) -> list[tuple[float, float, float, float]]:
        """(start s, gaps observed, p50, p99) per window of `width` seconds."""
        rows = []
        previous: Series = {}
        edge = width
        for at, series in self.points:
            if at < edge:
                continue
            window = delta(series, previous)
            count = total(window, f"{GAP}_count")
            if count:
                rows.append(
                    (edge - width, count, quantile(window, GAP, 0.5), quantile(window, GAP, 0.99))
                )
            previous, edge = series, edge + width
        return rows


def _scheduler_metrics() -> str:
    result = subprocess.run(
        [
            "curl",
            "-fsS",
            "--cacert",
            str(PKI / "ca.crt"),
            "--cert",
            str(PKI / "admin.crt"),
            "--key",
            str(PKI / "admin.key"),
            SCHEDULER,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout if result.returncode == 0 else ""


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


@dataclass(frozen=True)
class Scrape:
    apiserver: Series
    scheduler: Series
    operator: Series

    @classmethod
    def now(cls, operator_text: str) -> Scrape:
        from bench import cluster

        return cls(
            parse_metrics(cluster.kubectl("get", "--raw", "/metrics", timeout=60)),
            parse_metrics(_scheduler_metrics()),
            parse_metrics(operator_text),
        )


def report(
    title: str, seconds: float, steps: int, before: Scrape, after: Scrape, samples: Samples | None
) -> list[str]:
    """The breakdown of one run as lines of text."""
    api = delta(after.apiserver, before.apiserver)
    sched = delta(after.scheduler, before.scheduler)
    op = delta(after.operator, before.operator)
    lines = [f"### {title}: {steps} steps in {seconds:.1f} s ({steps / seconds:.1f} steps/s)"]
    lines.append(
        f"- operator gap (upstream seen done -> downstream pod created): p50 "
        f"{_ms(quantile(op, GAP, 0.5))}, p99 {_ms(quantile(op, GAP, 0.99))}, "
        f"{total(op, f'{GAP}_count'):.0f} gaps; writes: "
        + ", ".join(
            f"{dict(labels)['verb']} {dict(labels)['resource']} {value:.0f}"
            for (name, labels), value in sorted(op.items(), key=lambda kv: -kv[1])
            if name == "kasset_api_writes_total" and value > 0
        )
    )
    for verb, resource, who in (
        ("POST", "pods", "operator: pod create"),
        ("PATCH", "assets", "operator: Asset status"),
        ("POST", "events", "Events"),
        ("POST", "pods", "scheduler: binding"),
        ("PATCH", "pods", "kwok: pod status"),
    ):
        want = {"verb": verb, "resource": resource}
        if who.startswith("scheduler"):
            want["subresource"] = "binding"
        elif (resource == "pods" and verb == "PATCH") or resource == "assets":
            want["subresource"] = "status"
        name = "apiserver_request_duration_seconds"
        count = total(api, f"{name}_count", **want)
        if who == "operator: pod create":
            count = total(api, f"{name}_count", verb=verb, resource=resource, subresource="")
            want["subresource"] = ""
        if count <= 0:
            continue
        lines.append(
            f"- API server, {who} ({verb} {resource}{_sub(want)}):"
            f" {count:.0f} requests ({count / seconds:.0f}/s), latency mean "
            f"{_ms(mean(api, name, **want))}, p99 {_ms(quantile(api, name, 0.99, **want))}"
        )
    waits = sorted(
        {
            dict(labels).get("priority_level", "")
            for (n, labels) in api
            if n.startswith("apiserver_flowcontrol_request_wait_duration_seconds")
        }
    )
    for level in waits:
        name = "apiserver_flowcontrol_request_wait_duration_seconds"
        count = total(api, f"{name}_count", priority_level=level)
        if count <= 0:
            continue
        lines.append(
            f"- APF {level}: {count:.0f} requests waited mean "
            f"{_ms(mean(api, name, priority_level=level))},"
            f" p99 {_ms(quantile(api, name, 0.99, priority_level=level))}; rejected (429): "
            f"{total(api, REJECTED, priority_level=level):.0f}"
        )
    if sched:
        attempts = total(sched, "scheduler_schedule_attempts_total")
        lines.append(
            f"- scheduler: {attempts:.0f} attempts ({attempts / seconds:.0f}/s); pod scheduling "
            f"(queued -> bound) p50 {_ms(quantile(sched, SLI, 0.5))},"
            f" p99 {_ms(quantile(sched, SLI, 0.99))};"
            f" its client's rate-limiter wait mean {_ms(mean(sched, LIMITER))},"
            f" p99 {_ms(quantile(sched, LIMITER, 0.99))}"
        )
    else:
        lines.append("- scheduler: metrics not reachable")
    if samples is not None:
        tail = [w for w in samples.windows() if w[3] > 0.5]
        lines.append(
            "- gap over time (10 s windows with p99 > 500 ms): "
            + (
                "; ".join(f"t={s:.0f}s n={n:.0f} p50 {_ms(a)} p99 {_ms(b)}" for s, n, a, b in tail)
                or "none"
            )
        )
    return lines


def _run_once(
    kind: str, size: int, qps: int, log_dir: Path, say: Callable[[str], None]
) -> list[str]:
    from bench import cluster
    from bench.kasset_cluster import (
        KWOK_PLACEMENT,
        apply_graph,
        graph_manifest,
        materialization_manifest,
        partitioned_chain,
        run_materialization,
        shape_graph_manifest,
    )
    from bench.shapes import fan_out

    ns = f"kasset-bench-gaps-{kind}-{size}-{qps}"
    extra = ("--api-qps", str(qps), "--api-burst", str(2 * qps))
    with (
        cluster.namespace(ns),
        cluster.OperatorProcess(ns, log_dir / f"operator-{ns}.log", *extra) as op,
    ):
        if kind == "backfill":
            steps = size * 10
            graph = graph_manifest(
                partitioned_chain(10, size),
                name="gaps",
                namespace=ns,
                image="kasset-bench:fake",
                attribute="scale",
                max_parallel=1000,
                placement=KWOK_PLACEMENT,
            )
            body = materialization_manifest(
                "gaps-1", ns, "gaps", 1000, ("p00000", f"p{size - 1:05d}")
            )
        else:
            steps = size + 1
            graph = shape_graph_manifest(
                fan_out(size),
                name="gaps",
                namespace=ns,
                image="kasset-bench:fake",
                max_parallel=size,
                placement=KWOK_PLACEMENT,
            )
            body = materialization_manifest("gaps-1", ns, "gaps", size)
        apply_graph(graph)
        before = Scrape.now(op.metrics())
        samples = Samples(op.metrics)
        samples.start()
        outcome = run_materialization(body, timeout=3600)
        samples.stop()
        time.sleep(1)
        after = Scrape.now(op.metrics())
    what = "partitions x 10 assets" if kind == "backfill" else "leaves"
    title = f"{kind} {size} {what}, operator --api-qps {qps}"
    say(f"  {title}: {outcome.phase} in {outcome.seconds:.1f} s")
    lines = report(title, outcome.seconds, steps, before, after, samples)
    say("\n".join(lines))  # at once: a later run that times out loses nothing
    return lines


def run(
    backfill: int,
    fan_outs: Iterable[int],
    budgets: Iterable[int],
    log_dir: Path,
    say: Callable[[str], None] = print,
) -> list[str]:
    from bench import cluster
    from bench.control_plane import kwok_up

    why = cluster.available()
    if why:
        return [f"not measured: {why}"]
    cluster.ensure_crds()
    kwok_up(log_dir / "kwok.log")
    lines: list[str] = []
    for qps in budgets:
        for width in fan_outs:
            lines += [*_run_once("fanout", width, qps, log_dir, say), ""]
        if backfill:
            lines += [*_run_once("backfill", backfill, qps, log_dir, say), ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backfill", type=int, default=1000, help="partitions (x 10 assets)")
    parser.add_argument("--fan-out", default="500,1000")
    parser.add_argument("--qps", default="100,1000", help="operator client budgets to compare")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/kasset-bench"))
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    lines = run(
        args.backfill,
        [int(w) for w in args.fan_out.split(",") if w],
        [int(q) for q in args.qps.split(",")],
        args.log_dir,
    )
    if lines and lines[0].startswith("not measured"):
        print(lines[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
