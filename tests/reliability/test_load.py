"""Load (issue 8): 1,000 Materializations created at once, their step pods on kwok fake
nodes (hack/kwok's controller and stages: a pod goes Running, then after KWOK_RUN_MS
Succeeded with the termination message a runtime writes). Real pods for 1,000 runs would
only measure the 2-core machine's container start-up; the operator, the API server and
the scheduler do the same work either way.

Asserts: every run Succeeded; the global `--max-running 20` and the per-run `maxParallel: 2`
held in every sample (non-terminal step pods, sampled ~1/s, and the operator's
`kasset_running_steps`); the ingest endpoint's p99 under 1 s (STEP_STARTED events posted as
a runtime would, with its token, for each pod seen running, each posted twice: the replay
is accepted once); no kasset object over 1 MiB.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from harness import (
    World,
    delete_fake_nodes,
    ensure_kwok,
    fake_nodes,
    metric_total,
    percentile,
    post_event,
)

from kube import wait_until
from operator_harness import apply_server_side, compile_graph, histogram_quantile

RecordProperty = Any
RUNS = int(os.environ.get("KASSET_RELIABILITY_LOAD_RUNS", "1000"))
WIDE_RUNS = max(1, RUNS // 20)  # 4 independent steps each, maxParallel 2
MAX_RUNNING = 20
MAX_PARALLEL = 2
MIB = 1024 * 1024


@pytest.mark.cluster
@pytest.mark.timeout(720, func_only=True)
def test_a_thousand_materializations_at_once(world: World, record_property: RecordProperty) -> None:
    kube, ns = world.kube, world.namespace
    ensure_kwok()
    label = ns
    world._stack.callback(delete_fake_nodes, kube, label)
    fake_nodes(kube, label, [f"kwok-{ns[-6:]}-{i}" for i in range(3)])

    op = world.runner("load", extra=("--max-running", str(MAX_RUNNING)))
    op.start()
    for name, attribute in (("one", "single"), ("wide", "wide")):
        manifest = compile_graph(
            "e2e_projects.faults.load", attribute, image=world.image, name=name, namespace=ns
        )
        spec = manifest["spec"]
        spec["historyLimit"] = 1000
        defaults = spec.setdefault("defaults", {})
        defaults["nodeSelector"] = {"kasset.io/reliability": label}
        defaults["tolerations"] = [
            {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
        ]
        apply_server_side(kube, manifest)
        world.wait_graph_ready(name)

    narrow = RUNS - WIDE_RUNS
    # the wide runs first, so that their steps compete for the global limit
    items = [
        {
            "apiVersion": "kasset.io/v1alpha1",
            "kind": "Materialization",
            "metadata": {"name": f"w-{i:04d}", "namespace": ns},
            "spec": {
                "graph": "wide",
                "selection": "*",
                "maxParallel": MAX_PARALLEL,
                "launchedBy": "load",
            },
        }
        for i in range(WIDE_RUNS)
    ] + [
        {
            "apiVersion": "kasset.io/v1alpha1",
            "kind": "Materialization",
            "metadata": {"name": f"l-{i:04d}", "namespace": ns},
            "spec": {"graph": "one", "selection": "*", "launchedBy": "load"},
        }
        for i in range(narrow)
    ]
    total_steps = narrow + 4 * WIDE_RUNS

    # -- sampling: running step pods, the operator's gauge, and ingest requests --------------
    stop = threading.Event()
    samples: list[int] = []
    gauge: list[float] = []
    per_run_max: Counter[str] = Counter()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    posted: set[str] = set()
    errors: list[str] = []

    def sample() -> None:
        while not stop.is_set():
            try:
                proc = kube.kubectl(
                    "get", "pods", "-n", ns, "-o", "json",
                    "--field-selector=status.phase!=Succeeded,status.phase!=Failed",
                    timeout=30,
                )  # fmt: skip
                live = [
                    p
                    for p in json.loads(proc.stdout)["items"]
                    if not p["metadata"].get("deletionTimestamp")
                ]
                samples.append(len(live))
                runs = Counter(p["metadata"]["labels"]["kasset.io/run"] for p in live)
                for run, n in runs.items():
                    per_run_max[run] = max(per_run_max[run], n)
                with contextlib.suppress(OSError):
                    gauge.append(metric_total(op.metrics(), "kasset_running_steps"))
                for pod in live:
                    name = pod["metadata"]["name"]
                    if pod["status"].get("phase") != "Running" or name in posted:
                        continue
                    posted.add(name)
                    a = pod["metadata"]["annotations"]
                    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, pod["metadata"]["uid"]))
                    for _ in range(2):  # the second is a replay: accepted once
                        status, seconds = post_event(
                            op.port, ns, a["kasset.io/run"], a["kasset.io/step"],
                            int(a["kasset.io/attempt"]), "STEP_STARTED", event_id,
                        )  # fmt: skip
                        statuses[status] += 1
                        latencies.append(seconds)
            except Exception as exc:  # keep sampling; report at the end
                errors.append(repr(exc))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    created_at = time.monotonic()
    sampler.start()
    try:
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        kube.kubectl("create", "-f", "-", input=body, timeout=600)
        create_s = time.monotonic() - created_at
        phases: Counter[str] = Counter()

        def all_done() -> bool:
            nonlocal phases
            proc = kube.kubectl(
                "get", "mat", "-n", ns, "-o",
                'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}', timeout=60,
            )  # fmt: skip
            phases = Counter(line or "None" for line in proc.stdout.splitlines())
            bad = phases.get("Failed", 0) + phases.get("Canceled", 0)
            assert not bad, f"runs ended badly: {dict(phases)}\n{world.diagnose()}"
            return phases.get("Succeeded", 0) == RUNS

        wait_until(
            all_done,
            600,
            f"{RUNS} runs Succeeded",
            interval=5,
            on_timeout=lambda: f"{dict(phases)}\n{world.diagnose()}",
        )
        wall = time.monotonic() - created_at
    finally:
        stop.set()
        sampler.join(timeout=60)

    text = op.metrics()
    server_p99 = histogram_quantile(text, "kasset_ingest_request_duration_seconds", 0.99)
    server_n = metric_total(text, "kasset_ingest_request_duration_seconds_count")
    client_p99 = percentile(latencies, 0.99)
    ingested = metric_total(text, "kasset_events_ingested_total", type="STEP_STARTED")
    succeeded_steps = metric_total(text, "kasset_steps_total", outcome="succeeded")

    sizes = []
    for kind in ("materializations", "assets.kasset.io", "assetgraphs"):
        for item in kube.get_json(kind, namespace=ns)["items"]:
            sizes.append((len(json.dumps(item)), f"{kind}/{item['metadata']['name']}"))
    biggest = max(sizes)
    wide_max = max((n for run, n in per_run_max.items() if run.startswith("w-")), default=0)
    narrow_max = max((n for run, n in per_run_max.items() if run.startswith("l-")), default=0)
    print(
        f"\n[load] {RUNS} Materializations ({narrow} x 1 step, {WIDE_RUNS} x 4 steps "
        f"maxParallel {MAX_PARALLEL}; {total_steps} steps) on kwok: created in {create_s:.1f}s, "
        f"all Succeeded {wall:.1f}s after the first create ({total_steps / wall:.1f} steps/s)\n"
        f"[load] running step pods: max {max(samples, default=0)} over {len(samples)} samples "
        f"(--max-running {MAX_RUNNING}); kasset_running_steps max {max(gauge, default=0):g}; "
        f"per-run max: wide {wide_max} (maxParallel {MAX_PARALLEL}), one-step {narrow_max}\n"
        f"[load] ingest: {len(latencies)} requests from the test, statuses {dict(statuses)}, "
        f"client p50 {percentile(latencies, 0.5) * 1000:.1f}ms p99 {client_p99 * 1000:.1f}ms "
        f"max {max(latencies, default=0) * 1000:.1f}ms; server histogram n={server_n:g} "
        f"p99~{(server_p99 or 0) * 1000:.1f}ms; STEP_STARTED ingested {ingested:g} "
        f"(posted {len(posted)} distinct)\n"
        f"[load] kasset_steps_total{{succeeded}} {succeeded_steps:g}; biggest object "
        f"{biggest[1]} {biggest[0]} bytes; sampler errors {errors[:3]}"
    )
    for key, value in (
        ("runs", RUNS),
        ("wall_s", round(wall, 1)),
        ("max_running_seen", max(samples, default=0)),
        ("wide_run_max_parallel_seen", wide_max),
        ("ingest_p99_client_ms", round(client_p99 * 1000, 1)),
        ("ingest_p99_server_ms", round((server_p99 or 0) * 1000, 1)),
        ("biggest_object_bytes", biggest[0]),
    ):
        record_property(key, value)

    assert len(samples) >= 10, (samples, errors)
    assert max(samples) <= MAX_RUNNING, samples
    assert max(gauge, default=0) <= MAX_RUNNING, gauge
    assert wide_max <= MAX_PARALLEL, per_run_max
    assert succeeded_steps == total_steps, text
    assert latencies, "no step pod was ever seen running"
    assert set(statuses) <= {202}, statuses
    assert ingested == len(posted), (ingested, len(posted))  # replays counted once
    assert client_p99 < 1.0 and (server_p99 or 0) < 1.0, (client_p99, server_p99)
    assert biggest[0] < MIB, biggest
