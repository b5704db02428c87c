"""Comparison 5: scale by simulation. hack/kwok fakes 100 nodes and the pod lifecycle
(Pending -> Running -> Succeeded after 1 s, with kasset's termination message), and the
operator runs 1,000 and then 10,000 steps through them.

The graph is a backfill: 10 assets in a chain, each with N static partitions (partition p
of asset i waits for partition p of asset i-1), N = 100 and 1,000, maxParallel 1000.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bench import cluster
from bench.control_plane import gap_quantiles, kwok_up, operator_writes
from bench.kasset_cluster import (
    KWOK_PLACEMENT,
    apply_graph,
    graph_manifest,
    materialization_manifest,
    object_sizes,
    partitioned_chain,
    run_materialization,
)
from bench.report import Goal, Section, Table, fmt_bytes

__all__ = ["run_scale"]

RSS_GOAL = 250 * 1000 * 1000
OBJECT_GOAL = 1 << 20
ASSETS = 10
FAKE_IMAGE = "kasset-bench:fake"


def _kwok_cpu() -> float:
    pid_file = Path("/var/lib/kasset-cluster/kwok/kwok.pid")
    try:
        return cluster.process_cpu_seconds(int(pid_file.read_text().strip()))
    except (OSError, ValueError):
        return float("nan")


def run_scale(log_dir: Path, steps: int = 10_000, say: Callable[[str], None] = print) -> Section:
    section = Section("kwok", "5. Scale by simulation (kwok: 100 fake nodes)")
    why = cluster.available()
    if why:
        section.skipped = why
        return section
    section.notes += [
        "What kwok does not exercise: no container runs, so no image pull, no Python start, "
        "no HTTP events (success comes only from the termination message kwok writes), no "
        "IO manager, no kubelet, no CNI; the scheduler, the API server, etcd, the "
        "garbage collector and the operator do all their real work.",
        f"Graph: {ASSETS} assets x N static partitions (a backfill), maxParallel 1000; "
        "every fake pod runs 1 s.",
    ]
    cluster.ensure_crds()
    kwok_up(log_dir / "kwok.log")
    table = Table(
        "operator at scale on kwok nodes",
        [
            "steps",
            "phase",
            "wall",
            "steps/s",
            "gap p50 / p99",
            "operator writes/step",
            "operator CPU",
            "kwok CPU",
            "operator RSS peak",
            "RSS after",
            "largest Materialization",
            "largest Asset",
            "AssetGraph",
        ],
    )
    results = {}
    for total in sorted({min(1_000, steps), steps}):
        partitions = total // ASSETS
        ns = f"kasset-bench-scale-{total}"
        with (
            cluster.namespace(ns),
            cluster.OperatorProcess(ns, log_dir / f"operator-scale-{total}.log") as op,
        ):
            defs = partitioned_chain(ASSETS, partitions)
            graph = graph_manifest(
                defs,
                name="scale",
                namespace=ns,
                image=FAKE_IMAGE,
                attribute="scale",
                max_parallel=1000,
                placement=KWOK_PLACEMENT,
            )
            apply_graph(graph)
            op.reset_peak()
            setup = operator_writes(op.metrics())
            cpu_before, kwok_before = op.cpu_seconds(), _kwok_cpu()
            mat = materialization_manifest(
                "scale-1", ns, "scale", 1000, ("p00000", f"p{partitions - 1:05d}")
            )
            outcome = run_materialization(mat, timeout=3600)
            cpu = op.cpu_seconds() - cpu_before
            kwok_cpu = _kwok_cpu() - kwok_before
            time.sleep(1)
            metrics = op.metrics()
            rss_after = op.rss()
            peak = max(op.peak_rss, rss_after)
            sizes = object_sizes(ns, ["materializations", "assets", "assetgraphs"])
        writes = sum(operator_writes(metrics).values()) - sum(setup.values())
        say(f"  kwok {total} steps: {outcome.phase}, {outcome.seconds:.0f} s, {fmt_bytes(peak)}")
        table.add(
            total,
            outcome.phase,
            f"{outcome.seconds:.1f} s",
            f"{total / outcome.seconds:.1f}",
            gap_quantiles(metrics),
            f"{writes / total:.2f}",
            f"{cpu:.0f} s ({cpu / outcome.seconds:.0%})",
            f"{kwok_cpu:.0f} s ({kwok_cpu / outcome.seconds:.0%})",
            fmt_bytes(peak),
            fmt_bytes(rss_after),
            fmt_bytes(sizes.get("materializations", ("", 0))[1]),
            fmt_bytes(sizes.get("assets", ("", 0))[1]),
            fmt_bytes(sizes.get("assetgraphs", ("", 0))[1]),
        )
        results[total] = (outcome, peak, sizes)
    table.notes.append(
        "wall = Materialization created -> final phase seen; RSS of the operator process "
        "(VmRSS sampled every 0.25 s); object sizes are `kubectl get -o json` bytes; CPU = "
        "user + system seconds during the run (and the share of one core): an operator well "
        "below one core is waiting on the rest of the cluster (scheduler, kwok, API server, "
        "etcd, all on the same 2 cores), not the other way round."
    )
    section.tables.append(table)
    outcome, peak, sizes = results[steps]
    section.goals.append(
        Goal(
            f"operator RSS at {steps:,} steps",
            "< 250 MB",
            f"{peak / 1e6:.0f} MB peak",
            peak < RSS_GOAL,
        )
    )
    largest = max(sizes.values(), key=lambda s: s[1], default=("", 0))
    section.goals.append(
        Goal(
            "largest object",
            "<= 1 MiB",
            f"{fmt_bytes(largest[1])} ({largest[0]})",
            largest[1] <= OBJECT_GOAL,
        )
    )
    section.goals.append(
        Goal(
            f"{steps:,} steps through the operator",
            "Succeeded",
            f"{outcome.phase}, {steps / outcome.seconds:.1f} steps/s",
            outcome.phase == "Succeeded",
        )
    )
    return section
