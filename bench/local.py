"""Comparison 1: kasset against Dagster on one machine, no cluster.

`materialize()` against `dg.materialize()` (both in-process, serial, values in memory),
and kasset's local executor against Dagster's multiprocess executor (one fresh Python
process per step on both sides, at most `jobs` at once, values pickled to local disk).
Each measurement runs in its own interpreter (`bench.worker`); the two systems alternate
which goes first in every repetition.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import Goal, Section, Table, fmt_ms, fmt_s, median, ratio
from bench.shapes import Shape, chain, fan_out, lattice, widest_level

__all__ = ["LocalConfig", "interleaved", "run_local_comparison", "shapes_for"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("kasset", "dagster")
OVERHEAD_GOAL = 5.0
LABELS = {"inprocess": "in-process", "processes": "processes"}


@dataclass(frozen=True)
class LocalConfig:
    inprocess_reps: int = 5
    processes_reps: int = 3
    jobs: int = 2
    full_processes: bool = False
    """Run the process comparison on the full shapes (Dagster needs ~20 min a repetition
    here) rather than the reduced ones."""


def shapes_for(mode: str, full: bool = True) -> list[Shape]:
    """The three shapes: full size, or for the process executors by default a reduced
    variant of each (same kind, fewer steps), since Dagster spends seconds per step."""
    if mode == "inprocess" or full:
        return [chain(100), fan_out(200), lattice(20, 20)]
    return [chain(20), fan_out(40), lattice(6, 6)]


def interleaved(reps: int, shapes: Sequence[Shape]) -> list[tuple[int, Shape, str]]:
    """(rep, shape, system) in run order: every shape of every repetition runs both
    systems back to back, and who goes first alternates between repetitions."""
    order = []
    for rep in range(reps):
        systems = SYSTEMS if rep % 2 == 0 else SYSTEMS[::-1]
        order += [(rep, shape, system) for shape in shapes for system in systems]
    return order


def _worker(system: str, mode: str, shape: Shape, jobs: int, log: Path) -> float:
    with log.open("ab") as err:
        out = subprocess.run(
            [sys.executable, "-m", "bench.worker", system, mode, shape.name, "--jobs", str(jobs)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(
            f"{system} {mode} {shape.name} failed (exit {out.returncode}); see {log}"
        )
    return float(json.loads(out.stdout.decode().strip().splitlines()[-1])["seconds"])


def run_local_comparison(
    config: LocalConfig,
    log_dir: Path,
    say: Callable[[str], None] = print,
    worker: Callable[[str, str, Shape, int, Path], float] = _worker,
) -> Section:
    section = Section("local", "1. Local: kasset vs Dagster, no cluster")
    section.notes += [
        "No-op assets (return None, order-only deps); each measurement in a fresh "
        "interpreter; median over the repetitions; per step = wall / steps.",
        "In-process: serial on both sides (kasset `materialize(assets)`, Dagster "
        "`materialize(assets, resources={'io_manager': mem_io_manager})`), after an "
        "untimed 2-step warm-up in the same interpreter.",
        f"Processes: at most {config.jobs} steps at once on both sides (kasset local "
        f"executor `max_parallel={config.jobs}`, i.e. `--local -j {config.jobs}`; Dagster "
        f"`multiprocess_executor` `max_concurrent={config.jobs}`, default spawn start "
        f"method, sqlite instance, filesystem IO manager).",
    ]
    goals = []
    for mode, reps, title in (
        ("inprocess", config.inprocess_reps, "kasset materialize() vs Dagster materialize()"),
        ("processes", config.processes_reps, "kasset local executor vs Dagster multiprocess"),
    ):
        full = mode == "inprocess" or config.full_processes
        shapes = shapes_for(mode, config.full_processes)
        times: dict[tuple[str, str], list[float]] = {}
        for rep, shape, system in interleaved(reps, shapes):
            seconds = worker(system, mode, shape, config.jobs, log_dir / f"local-{mode}.log")
            times.setdefault((shape.name, system), []).append(seconds)
            say(f"  {mode} rep {rep + 1}/{reps} {shape.name:<14} {system:<7} {fmt_s(seconds)}")
        table = Table(
            f"{title} ({reps} reps{'' if full else ', reduced shapes'})",
            [
                "shape",
                "steps",
                "widest level",
                "kasset wall",
                "Dagster wall",
                "kasset / step",
                "Dagster / step",
                "Dagster / kasset",
            ],
        )
        worst = float("inf")
        for shape in shapes:
            k = median(times[(shape.name, "kasset")])
            d = median(times[(shape.name, "dagster")])
            r = ratio(d, k)
            worst = min(worst, r)
            table.add(
                shape.name,
                shape.steps,
                widest_level(shape),
                fmt_s(k),
                fmt_s(d),
                fmt_ms(k / shape.steps),
                fmt_ms(d / shape.steps),
                f"{r:.1f}x",
            )
        if not full:
            table.notes.append(
                "reduced shapes (chain 20, fan-out 1->40, lattice 6x6) to keep Dagster's "
                "multiprocess run within minutes; `python -m bench --full-processes` runs "
                "chain 100, fan-out 1->200 and lattice 20x20."
            )
        section.tables.append(table)
        goals.append(
            Goal(
                f"per-step overhead vs Dagster ({LABELS[mode]})",
                f">= {OVERHEAD_GOAL:.0f}x lower",
                f"{worst:.1f}x lower (worst shape)",
                worst >= OVERHEAD_GOAL,
            )
        )
    section.goals += goals
    return section
