"""User code that raises, hangs, exits, floods its logs or returns a value the IO manager
cannot store: each becomes a failed step with a clear reason, never a stuck run.

(a) the local subprocess executor (fast, no cluster); (b) real step pods on the cluster
(marker `cluster`), one run of every failure mode at once, no retries.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kasset.local.executor import run_local
from kasset.local.loading import CodeLocation
from kasset.plan import RunPhase, StepPhase

TESTS = Path(__file__).resolve().parents[1]
PROJECTS = TESTS / "e2e" / "projects"
MODULE = "e2e_projects.misbehaving"

#: asset -> fragments its failed step's message must contain (any one of each tuple)
EXPECTED: dict[str, tuple[tuple[str, ...], ...]] = {
    "raises": (("ValueError",), ("boom from user code",)),
    "hangs": (("timed out",),),
    "exits_3": (("exit", "status", "Exit"), ("3",)),
    "hard_exit": (("exit", "status", "Exit"), ("1",)),
    "noisy": (("RuntimeError",), ("megabytes",)),
    "returns_lambda": (("cannot store", "pickl", "Pickl"),),
    "returns_lock": (("cannot store", "pickl", "Pickl"),),
    "returns_socket": (("cannot store", "pickl", "Pickl"),),
}
#: A run of every failure mode must finish within this (the hang times out after 3 s).
LOCAL_BOUND_S = 90


def message_problems(messages: dict[str, str]) -> list[str]:
    problems = []
    for asset, groups in EXPECTED.items():
        message = messages.get(asset)
        if message is None:
            problems.append(f"{asset}: no failed step message")
            continue
        for group in groups:
            if not any(fragment in message for fragment in group):
                problems.append(f"{asset}: message {message!r} lacks any of {group}")
        if "\n" in message or len(message) > 512:
            problems.append(f"{asset}: message is not one line of <= 512 characters")
    return problems


def _load_defs():  # type: ignore[no-untyped-def]
    from operator_harness import load_project

    return load_project(MODULE).defs


def test_local_executor_turns_each_failure_into_a_failed_step_with_its_reason(
    tmp_path: Path,
) -> None:
    link = tmp_path / "code"
    link.mkdir()
    (link / "e2e_projects").symlink_to(PROJECTS)
    defs = _load_defs()
    log = tmp_path / "out.txt"
    started = time.monotonic()
    with log.open("w") as stream:
        run = run_local(
            defs,
            CodeLocation(MODULE, "defs", str(link)),
            home=tmp_path / "home",
            stream=stream,
            max_parallel=min(4, os.cpu_count() or 1),
            grace_seconds=2,
        )
    elapsed = time.monotonic() - started
    assert elapsed < LOCAL_BOUND_S, f"run took {elapsed:.0f}s"
    assert run.phase is RunPhase.FAILED, log.read_text()[-3000:]
    by_asset = {key.asset.to_string(): step for key, step in run.state.steps.items()}
    assert by_asset["ok"].phase is StepPhase.SUCCEEDED
    assert by_asset["token_probe"].phase is StepPhase.SUCCEEDED
    failed = {a for a, s in by_asset.items() if s.phase is StepPhase.FAILED}
    assert failed == set(EXPECTED), {a: (s.phase, s.message) for a, s in by_asset.items()}
    assert all(by_asset[a].attempts == 1 for a in EXPECTED)
    messages = {a: by_asset[a].message or "" for a in EXPECTED}
    print("\nlocal executor step messages:")
    for asset, message in messages.items():
        print(f"  {asset}: {message}")
    print(f"  (run finished in {elapsed:.1f}s)")
    assert not message_problems(messages), message_problems(messages)
    # the flood of logs landed in the step's log file, not in the run's memory
    noisy_logs = [p for p in run.run_dir.rglob("*") if p.is_file() and "noisy" in p.name]
    assert noisy_logs and max(p.stat().st_size for p in noisy_logs) > 1_000_000, noisy_logs


#: Every failure mode in one run on real pods must end within this.
CLUSTER_BOUND_S = 150


@pytest.mark.cluster
def test_step_pods_turn_each_failure_into_a_failed_step_with_its_reason(world) -> None:  # type: ignore[no-untyped-def]
    world.start_operator()
    world.apply_graph(MODULE, "defs", name="bad")
    started = world.submit("bad-run", graph="bad", maxParallel=10)
    status = world.wait_run("bad-run", phases=("Failed",), timeout=CLUSTER_BOUND_S)
    elapsed = time.monotonic() - started
    steps = {s["key"]: s for s in status.get("steps", [])}
    assets = {a["asset"]: a for a in status.get("assets", [])}
    print(f"\ncluster run Failed after {elapsed:.1f}s; counts {status.get('counts')}")
    for key, step in sorted(steps.items()):
        print(f"  {key}: {step.get('phase')} x{step.get('attempts')}: {step.get('message')}")
    assert assets["ok"]["phase"] == "Succeeded", assets
    assert assets["token_probe"]["phase"] == "Succeeded", assets
    for asset in EXPECTED:
        assert steps[asset]["phase"] == "Failed", steps.get(asset)
        assert steps[asset]["attempts"] == 1, steps[asset]
    messages = {a: steps[a].get("message", "") for a in EXPECTED}
    assert not message_problems(messages), message_problems(messages)
    counts = status["counts"]
    assert counts["failed"] == len(EXPECTED) and counts["succeeded"] == 2, counts
    assert counts.get("running", 0) == 0 and counts.get("pending", 0) == 0, counts
    # no pod of the run is left running (the hang was stopped; pod phases lag the events)
    from kube import wait_until

    def live() -> list[str]:
        return [
            p["metadata"]["name"]
            for p in world.pods()
            if p["status"].get("phase") in ("Pending", "Running")
            and not p["metadata"].get("deletionTimestamp")
        ]

    wait_until(lambda: not live(), 60, "every step pod to stop", on_timeout=lambda: str(live()))
    # the step pod had no Kubernetes API credentials
    probe = world.storage.read("token_probe")
    assert probe["token_exists"] is False and probe["sa_dir_exists"] is False, probe
