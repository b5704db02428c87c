"""Comparison 2: kasset's operator against dagster-k8s's `k8s_job_executor` on the local
cluster, on a chain of 10 and a fan-out of 1 -> 20 no-op assets, same image, same node.

Both orchestrators run on the host: kasset's operator (`python -m kasset.operator`, one
process for the section) and Dagster's run (`execute_job` in a fresh interpreter per run,
`python -m bench.dagster_k8s run ...`). Both launch one pod per step (Dagster through one
Job per step), at most 20 at once. Wall time is from submitting the run to seeing it
finished; the gap between steps is taken from one pod watch on the host for both.

    python -m bench.dagster_k8s run SHAPE NAMESPACE IMAGE MAX_CONCURRENT INSTANCE_DIR
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import cluster
from bench.report import Goal, Section, Table, fmt_ms, fmt_s, median, ratio
from bench.shapes import Shape, chain, fan_out

__all__ = ["run_k8s_comparison"]

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_ROOT = Path("/var/lib/kasset-bench")
MAX_CONCURRENT = 20


def _dagster_run(
    shape_name: str, namespace: str, image: str, max_concurrent: int, instance_dir: str
) -> dict[str, float]:
    """In the worker interpreter: one Dagster run on the k8s_job_executor."""
    import dagster as dg

    from bench.dagster_k8s_job import k8s_job_for

    job = dg.build_reconstructable_job(
        "bench.dagster_k8s_job",
        k8s_job_for.__name__,
        reconstructable_args=(
            shape_name,
            namespace,
            image,
            max_concurrent,
            instance_dir,  # type: ignore[arg-type]
            cluster.kubeconfig(),
        ),
    )
    # dagster-k8s reads its pod defaults from the instance's run launcher and fails with
    # any other launcher, so the instance names a K8sRunLauncher. It launches nothing here:
    # `execute_job` runs the run's orchestration in this process.
    launcher = {
        "module": "dagster_k8s",
        "class": "K8sRunLauncher",
        "config": {
            "service_account_name": "default",
            "instance_config_map": "unused",
            "job_namespace": namespace,
            "load_incluster_config": False,
            "kubeconfig_file": cluster.kubeconfig(),
            "image_pull_policy": "IfNotPresent",
        },
    }
    overrides = {"run_launcher": launcher}
    with dg.DagsterInstance.local_temp(instance_dir, overrides=overrides) as instance:
        start = time.perf_counter()
        with dg.execute_job(job, instance=instance) as result:
            elapsed = time.perf_counter() - start
            ok = result.success
            run_id = result.run_id
        records = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
        succeeded = {r.step_key: r.timestamp for r in records if r.step_key}
    if not ok:
        raise RuntimeError(f"the Dagster k8s run of {shape_name} failed")
    return {"seconds": elapsed, "steps": len(succeeded), "succeeded": succeeded}


def _dagster_worker(
    shape: Shape, namespace: str, image: str, log: Path
) -> tuple[float, dict[str, float]]:
    INSTANCE_ROOT.mkdir(parents=True, exist_ok=True)
    instance_dir = tempfile.mkdtemp(prefix="dagster-", dir=INSTANCE_ROOT)
    with log.open("ab") as err:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.dagster_k8s",
                "run",
                shape.name,
                namespace,
                image,
                str(MAX_CONCURRENT),
                instance_dir,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"the Dagster k8s run of {shape.name} failed; see {log}")
    shutil.rmtree(instance_dir, ignore_errors=True)
    data = json.loads(out.stdout.decode().strip().splitlines()[-1])
    if data["steps"] != shape.steps:
        raise RuntimeError(f"Dagster ran {data['steps']} steps of {shape.name}, not {shape.steps}")
    return float(data["seconds"]), {k: float(v) for k, v in data["succeeded"].items()}


def _gaps(
    pods: list[cluster.PodRecord],
    shape: Shape,
    step_of: Callable[[cluster.PodRecord], str],
    since: Callable[[cluster.PodRecord], float | None],
) -> list[float]:
    """Per downstream step: its pod first seen minus the latest `since` of its upstream
    steps' pods. For a chain that is step to step; for a fan-out, root to each leaf."""
    by_step = {step_of(p): p for p in pods}
    gaps = []
    for node, upstream in shape.deps.items():
        down = by_step.get(node)
        marks = [since(up) if (up := by_step.get(u)) else None for u in upstream]
        if not upstream or down is None or down.added is None or None in marks:
            continue
        gaps.append(down.added - max(m for m in marks if m is not None))
    return gaps


def _reported(pod: cluster.PodRecord) -> float | None:
    return pod.succeeded_at


def _finished(pod: cluster.PodRecord) -> float | None:
    return pod.terminated


def _kasset_step(pod: cluster.PodRecord) -> str:
    return pod.annotations.get("kasset.io/step", "")


def _dagster_step(pod: cluster.PodRecord) -> str:
    return pod.labels.get("dagster/op", "")


def run_k8s_comparison(log_dir: Path, reps: int = 3, say: Callable[[str], None] = print) -> Section:
    from bench.image import build_bench_image
    from bench.kasset_cluster import (
        apply_graph,
        materialization_manifest,
        run_materialization,
        shape_graph_manifest,
    )

    section = Section("k8s", "2. On the cluster: kasset operator vs dagster-k8s k8s_job_executor")
    why = cluster.available()
    if why:
        section.skipped = why
        return section
    cluster.ensure_crds()
    image = build_bench_image(log_dir / "image.log")
    section.notes += [
        f"Same image for both ({image}: the kasset image plus dagster 1.13 and dagster-k8s, "
        "built on kasset-base:bookworm-py311), same node, real pods; at most "
        f"{MAX_CONCURRENT} step pods at once on both sides (maxParallel / max_concurrent).",
        "Both orchestrators run on the host. Dagster: `execute_job` with the "
        "k8s_job_executor (one Job per step), a sqlite instance in a host directory every "
        "step pod mounts by hostPath, the default filesystem IO manager there, and its "
        "default 1 s executor poll. No K8sRunLauncher, so no run-worker pod: a real "
        "deployment adds one pod start per Dagster run. kasset: the operator, HTTP events.",
        "Pods are timed by one host-side watch (same clock as the step pods: one node).",
    ]
    shapes = [chain(10), fan_out(20)]
    ns_k, ns_d = "kasset-bench-k8s", "dagster-bench-k8s"
    walls: dict[tuple[str, str], list[float]] = {}
    gaps: dict[tuple[str, str], list[float]] = {}
    pod_gaps: dict[tuple[str, str], list[float]] = {}
    with (
        cluster.namespace(ns_k),
        cluster.namespace(ns_d),
        cluster.OperatorProcess(ns_k, log_dir / "operator-k8s.log"),
    ):
        for shape in shapes:
            apply_graph(
                shape_graph_manifest(
                    shape,
                    name=shape.name.replace("_", "-"),
                    namespace=ns_k,
                    image=image,
                    max_parallel=MAX_CONCURRENT,
                )
            )
        run = 0
        for rep in range(reps):
            for shape in shapes:
                order = ("kasset", "dagster") if rep % 2 == 0 else ("dagster", "kasset")
                for system in order:
                    run += 1
                    ns = ns_k if system == "kasset" else ns_d
                    watcher = cluster.PodWatcher(ns)
                    watcher.start()
                    time.sleep(1)  # the watch lists what is already there
                    known = set(watcher.pods)
                    if system == "kasset":
                        body = materialization_manifest(
                            f"r{run}", ns, shape.name.replace("_", "-"), MAX_CONCURRENT
                        )
                        outcome = run_materialization(body, timeout=1800)
                        if outcome.phase != "Succeeded":
                            raise RuntimeError(f"kasset run of {shape.name} ended {outcome.phase}")
                        seconds, step_of = outcome.seconds, _kasset_step
                    else:
                        seconds, succeeded = _dagster_worker(
                            shape, ns, image, log_dir / "dagster-k8s.log"
                        )
                        step_of = _dagster_step
                    watcher.wait_finished(len(known) + shape.steps)
                    watcher.stop()
                    pods = [p for name, p in watcher.pods.items() if name not in known]
                    if system == "dagster":
                        for pod in pods:
                            pod.succeeded_at = succeeded.get(_dagster_step(pod))
                    key = (shape.name, system)
                    walls.setdefault(key, []).append(seconds)
                    gaps.setdefault(key, []).extend(_gaps(pods, shape, step_of, _reported))
                    pod_gaps.setdefault(key, []).extend(_gaps(pods, shape, step_of, _finished))
                    say(f"  k8s rep {rep + 1}/{reps} {shape.name:<10} {system:<7} {fmt_s(seconds)}")
    section.tables.append(_comparison_table(shapes, reps, walls, gaps, pod_gaps))
    chain_ratio = ratio(
        median(walls[("chain_10", "dagster")]), median(walls[("chain_10", "kasset")])
    )
    section.goals.append(
        Goal(
            "cluster wall time vs dagster-k8s (chain of 10)",
            "faster (no numeric goal)",
            f"{chain_ratio:.1f}x faster",
            chain_ratio > 1,
        )
    )
    return section


Samples = dict[tuple[str, str], list[float]]


def _comparison_table(
    shapes: list[Shape], reps: int, walls: Samples, gaps: Samples, pod_gaps: Samples
) -> Table:
    table = Table(
        f"kasset operator vs dagster-k8s ({reps} reps, medians)",
        [
            "shape",
            "steps",
            "kasset wall",
            "Dagster wall",
            "Dagster / kasset",
            "kasset gap p50 / max",
            "Dagster gap p50 / max",
            "kasset pod-to-pod p50",
            "Dagster pod-to-pod p50",
        ],
    )
    for shape in shapes:
        k, d = median(walls[(shape.name, "kasset")]), median(walls[(shape.name, "dagster")])
        gk, gd = gaps[(shape.name, "kasset")], gaps[(shape.name, "dagster")]
        table.add(
            shape.name,
            shape.steps,
            fmt_s(k),
            fmt_s(d),
            f"{ratio(d, k):.1f}x",
            f"{fmt_ms(median(gk))} / {fmt_ms(max(gk, default=float('nan')))}",
            f"{fmt_ms(median(gd))} / {fmt_ms(max(gd, default=float('nan')))}",
            fmt_ms(median(pod_gaps[(shape.name, "kasset")])),
            fmt_ms(median(pod_gaps[(shape.name, "dagster")])),
        )
    table.notes.append(
        "gap = the step's pod first seen by the host watch minus the time its (last) "
        "upstream step reported success (kasset: the STEP_SUCCEEDED event's timestamp in "
        "the upstream pod's termination message; Dagster: the STEP_SUCCESS record in its "
        "event log); samples pooled over the repetitions. pod-to-pod = the pod first seen "
        "minus the upstream pod seen finished; negative when the next pod is created "
        "before the upstream container has exited, which both systems do, since both act "
        "on the step's own success report."
    )
    return table


def main(argv: list[str]) -> int:
    if len(argv) != 6 or argv[0] != "run":
        print(__doc__, file=sys.stderr)
        return 2
    _, shape, namespace, image, max_concurrent, instance_dir = argv
    print(
        json.dumps(_dagster_run(shape, namespace, image, int(max_concurrent), instance_dir)),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
