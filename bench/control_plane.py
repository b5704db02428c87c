"""Comparison 3: the operator's control plane on the local cluster.

- Inter-step gap on real pods: a chain of no-op steps (the bench image), where each
  success arrives as an HTTP event from the step and the operator creates the next pod.
- Launch rate: a 500-step fan-out (root + 499 leaves, maxParallel 500) on hack/kwok's
  fake nodes, so that the operator, not the kubelet or two CPUs, is what is measured.
- API writes per step: the API server's `apiserver_request_total` (write verbs) before and
  after each run, by resource, next to the operator's own `kasset_api_writes_total`.

The operator runs as a host process (`python -m kasset.operator`), fresh for every run, so
its metrics and memory belong to that run alone.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from bench import cluster
from bench.kasset_cluster import (
    KWOK_PLACEMENT,
    apply_graph,
    histogram_count,
    histogram_quantile,
    materialization_manifest,
    run_materialization,
    shape_graph_manifest,
)
from bench.report import Goal, Section, Table, fmt_bytes, fmt_ms, median, percentile
from bench.shapes import Shape, chain, fan_out

__all__ = ["chain_gaps", "gap_quantiles", "kwok_up", "operator_writes", "run_control_plane"]

REPO_ROOT = Path(__file__).resolve().parent.parent
GAP = "kasset_inter_step_gap_seconds"
GAP_GOAL = 0.100
#: What one step writes, whoever writes it (the operator, scheduler, kubelet or kwok).
STEP_RESOURCES = frozenset(
    {
        "pods",
        "pods/status",
        "pods/binding",
        "events",
        "materializations",
        "materializations/status",
        "assets",
        "assets/status",
    }
)
FAKE_IMAGE = "kasset-bench:fake"  # never pulled: nothing runs on a kwok node


def chain_gaps(
    pods: dict[str, cluster.PodRecord], order: list[str], key: Callable[[cluster.PodRecord], str]
) -> list[float]:
    """For consecutive steps of a chain: downstream pod first seen minus upstream pod seen
    finished (both in host time, from the watch)."""
    by_step = {key(p): p for p in pods.values()}
    gaps = []
    for upstream, downstream in pairwise(order):
        up, down = by_step.get(upstream), by_step.get(downstream)
        if up and down and up.terminated and down.added:
            gaps.append(down.added - up.terminated)
    return gaps


def leaf_creation_times(namespace: str) -> list[float]:
    """The API server's creationTimestamp (whole seconds) of every non-root step pod."""
    from datetime import datetime

    items = json.loads(cluster.kubectl("-n", namespace, "get", "pods", "-o", "json"))["items"]
    return sorted(
        datetime.fromisoformat(
            p["metadata"]["creationTimestamp"].replace("Z", "+00:00")
        ).timestamp()
        for p in items
        if (p["metadata"].get("annotations") or {}).get("kasset.io/step") != "root"
    )


def gap_quantiles(metrics: str) -> str:
    p50, p99 = histogram_quantile(metrics, GAP, 0.5), histogram_quantile(metrics, GAP, 0.99)
    return f"{fmt_ms(p50)} / {fmt_ms(p99)}"


def operator_writes(metrics_text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in metrics_text.splitlines():
        if line.startswith("kasset_api_writes_total{"):
            labels, _, value = line.rpartition(" ")
            verb = labels.split('verb="', 1)[1].split('"', 1)[0]
            resource = labels.split('resource="', 1)[1].split('"', 1)[0]
            counts[f"{verb} {resource}"] += int(float(value))
    return counts


def _writes_table(
    title: str,
    before: Counter[tuple[str, str]],
    after: Counter[tuple[str, str]],
    ours: Counter[str],
    steps: int,
) -> Table:
    table = Table(title, ["verb", "resource", "API server (cluster-wide)", "per step"])
    diff = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}
    total = other = 0
    for (verb, resource), n in sorted(diff.items(), key=lambda kv: (-kv[1], kv[0])):
        if resource not in STEP_RESOURCES:
            other += n
            continue
        total += n
        table.add(verb, resource, n, f"{n / steps:.2f}")
    table.add("**step-related**", "", total, f"{total / steps:.2f}")
    table.add("other", "(not a step's)", other, f"{other / steps:.2f}")
    own = sum(ours.values())
    table.notes.append(
        f"the operator's own writes (kasset_api_writes_total): {own} = {own / steps:.2f} per "
        f"step ({', '.join(f'{k}: {v}' for k, v in sorted(ours.items()))})"
    )
    table.notes.append(
        "API server counts include every client (kubelet or kwok status updates, the "
        "scheduler's bindings) and other users of the shared cluster during the run; rows "
        "are the resources a step touches, `other` sums the rest (node leases, other "
        "tests' namespaces and cleanup)."
    )
    return table


def kwok_up(log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run([str(REPO_ROOT / "hack/kwok"), "up"], stdout=out, stderr=out, check=True)


def run_control_plane(
    log_dir: Path, quick: bool = False, say: Callable[[str], None] = print
) -> Section:
    section = Section("operator", "3. The operator's control plane (local cluster)")
    why = cluster.available()
    if why:
        section.skipped = why
        return section
    cluster.ensure_crds()
    gap_p50 = _real_pod_chain(section, log_dir, chain(10 if quick else 20), say)
    _kwok_fan_out(section, log_dir, fan_out(499), say)
    if gap_p50 is not None:
        section.goals.insert(0, gap_p50)
    return section


def _real_pod_chain(
    section: Section, log_dir: Path, shape: Shape, say: Callable[[str], None]
) -> Goal | None:
    from bench.image import build_bench_image

    image = build_bench_image(log_dir / "image.log")
    ns = "kasset-bench-gap"
    with cluster.namespace(ns), cluster.OperatorProcess(ns, log_dir / "operator-gap.log") as op:
        graph = shape_graph_manifest(shape, name="gap", namespace=ns, image=image)
        apply_graph(graph)
        watcher = cluster.PodWatcher(ns)
        watcher.start()
        before = cluster.apiserver_writes()
        metrics_before = op.metrics()
        outcome = run_materialization(
            materialization_manifest("gap-1", ns, "gap", 16), timeout=1800
        )
        time.sleep(1)
        after = cluster.apiserver_writes()
        metrics = op.metrics()
        watcher.wait_finished(shape.steps)
        watcher.stop()
    say(f"  real-pod {shape.name}: {outcome.phase} in {outcome.seconds:.1f} s")
    gaps = chain_gaps(watcher.pods, list(shape), lambda p: p.annotations.get("kasset.io/step", ""))
    p50 = histogram_quantile(metrics, GAP, 0.5)
    p99 = histogram_quantile(metrics, GAP, 0.99)
    table = Table(
        f"inter-step gap on real pods: {shape.name} ({outcome.phase}, "
        f"wall {outcome.seconds:.1f} s, {outcome.seconds / shape.steps:.2f} s/step)",
        ["measure", "samples", "p50", "p99", "max"],
    )
    table.add(
        "operator histogram (success event accepted -> next pod created)",
        int(histogram_count(metrics, GAP)),
        fmt_ms(p50),
        fmt_ms(p99),
        "",
    )
    table.add(
        "watch: upstream pod seen finished -> next pod seen",
        len(gaps),
        fmt_ms(median(gaps)),
        fmt_ms(percentile(gaps, 99)),
        fmt_ms(max(gaps, default=float("nan"))),
    )
    table.notes.append(
        "The histogram is interpolated within its buckets (5, 10, 25, 50, 100 ms, ...), as "
        "Prometheus' histogram_quantile does. A negative watch gap means the next pod was "
        "created before the kubelet reported the upstream container's exit: the operator "
        "acts on the step's HTTP success event, not on the pod."
    )
    section.tables.append(table)
    ours = operator_writes(metrics)
    ours.subtract(operator_writes(metrics_before))
    section.tables.append(
        _writes_table(
            f"API writes during the real-pod {shape.name} run", before, after, +ours, shape.steps
        )
    )
    return Goal(
        "inter-step gap p50 (real pods)",
        "< 100 ms",
        f"{fmt_ms(p50)} (p99 {fmt_ms(p99)})",
        p50 < GAP_GOAL,
    )


def _kwok_fan_out(
    section: Section, log_dir: Path, shape: Shape, say: Callable[[str], None]
) -> None:
    kwok_up(log_dir / "kwok.log")
    ns = "kasset-bench-launch"
    with cluster.namespace(ns), cluster.OperatorProcess(ns, log_dir / "operator-launch.log") as op:
        graph = shape_graph_manifest(
            shape,
            name="launch",
            namespace=ns,
            image=FAKE_IMAGE,
            max_parallel=500,
            placement=KWOK_PLACEMENT,
        )
        apply_graph(graph)
        watcher = cluster.PodWatcher(ns)
        watcher.start()
        before = cluster.apiserver_writes()
        metrics_before = op.metrics()
        outcome = run_materialization(materialization_manifest("launch-1", ns, "launch", 500))
        time.sleep(1)
        after = cluster.apiserver_writes()
        metrics = op.metrics()
        rss = op.peak_rss
        watcher.wait_finished(shape.steps)
        watcher.stop()
        created = leaf_creation_times(ns)
    leaves = sorted(
        p.added
        for p in watcher.pods.values()
        if p.added and p.annotations.get("kasset.io/step") != "root"
    )
    rate = (len(leaves) - 1) / (leaves[-1] - leaves[0]) if len(leaves) > 1 else float("nan")
    span = created[-1] - created[0] if created else 0
    server_rate = (len(created) - 1) / span if span > 0 else float("nan")
    say(f"  kwok {shape.name}: {outcome.phase} in {outcome.seconds:.1f} s, {rate:.0f} pods/s")
    table = Table(
        f"launch rate: {shape.steps}-step fan-out on kwok nodes (maxParallel 500)",
        ["measure", "value"],
    )
    table.add("phase", outcome.phase)
    table.add("wall (create -> Succeeded seen)", f"{outcome.seconds:.1f} s")
    table.add("steps per second, whole run", f"{shape.steps / outcome.seconds:.1f}")
    table.add(
        f"steps launched per second ({len(leaves)} leaves, first to last pod seen by the "
        f"watch; {watcher.restarts} watch restarts)",
        f"{rate:.1f}",
    )
    table.add(
        f"steps launched per second ({len(created)} leaves, creationTimestamp, 1 s resolution)",
        f"{server_rate:.1f}",
    )
    table.add(
        "inter-step gap p50 / p99 (histogram; root -> leaves, via pod phase)",
        gap_quantiles(metrics),
    )
    table.add("operator peak RSS", fmt_bytes(rss))
    table.add("Materialization object (kubectl get -o json)", fmt_bytes(outcome.status_bytes))
    table.notes.append(
        "kwok pods finish 1 s after they run and report success through the termination "
        "message (hack/kwok-stages.yaml); the operator's API client is limited to its default "
        "--api-qps 100 / --api-burst 200."
    )
    section.tables.append(table)
    ours = operator_writes(metrics)
    ours.subtract(operator_writes(metrics_before))
    section.tables.append(
        _writes_table(
            f"API writes during the kwok {shape.steps}-step fan-out",
            before,
            after,
            +ours,
            shape.steps,
        )
    )
