"""`python -m bench`: every comparison in one invocation, tables on stdout, and
`bench/RESULTS.md` regenerated from what was measured.

    bench/.venv/bin/python -m bench                    # everything (about an hour here)
    bench/.venv/bin/python -m bench --only local,compile
    bench/.venv/bin/python -m bench --quick            # fewer repetitions, smaller runs

Sections that need the cluster (operator, kwok, k8s) say why when they cannot run and
the rest still runs; RESULTS.md records what was and was not measured.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Section, load_average, machine, render_markdown, render_text

SECTIONS = ("local", "compile", "history", "operator", "kwok", "k8s")
BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"


def _say(text: str) -> None:
    print(text, flush=True)


def _versions() -> dict[str, str]:
    import platform
    from importlib import metadata

    versions = {"Python": platform.python_version()}
    for dist in ("kasset", "dagster", "dagster-k8s", "kopf"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    from bench import cluster

    versions["Kubernetes"] = cluster.server_version() or "no cluster"
    return versions


def _run(name: str, args: argparse.Namespace, log_dir: Path) -> Section:
    quick = args.quick
    if name == "local":
        from bench.local import LocalConfig, run_local_comparison

        config = LocalConfig(
            inprocess_reps=3 if quick else 5,
            processes_reps=1 if quick else 3,
            jobs=args.jobs,
            full_processes=args.full_processes,
        )
        return run_local_comparison(config, log_dir, _say)
    if name == "compile":
        from bench.compile import run_compile

        return run_compile(reps=3 if quick else 5, say=_say)
    if name == "history":
        from bench.history import run_history

        return run_history(quick=quick, say=_say)
    if name == "operator":
        from bench.control_plane import run_control_plane

        return run_control_plane(log_dir, quick=quick, say=_say)
    if name == "kwok":
        from bench.scale import run_scale

        return run_scale(log_dir, steps=2_000 if quick else 10_000, say=_say)
    from bench.dagster_k8s import run_k8s_comparison

    return run_k8s_comparison(log_dir, reps=1 if quick else 3, say=_say)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller runs")
    parser.add_argument("--jobs", type=int, default=2, help="local parallelism (both systems)")
    parser.add_argument(
        "--full-processes",
        action="store_true",
        help="full-size shapes for the process executors (Dagster: ~20 min per repetition)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/kasset-bench"))
    args = parser.parse_args(argv)
    wanted = SECTIONS if not args.only else tuple(s.strip() for s in args.only.split(","))
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    args.log_dir.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    load_before = load_average()
    sections: list[Section] = []
    for name in SECTIONS:
        if name not in wanted:
            continue
        _say(f"== {name} (logs in {args.log_dir})")
        t0 = time.monotonic()
        section = _guarded(name, lambda n=name: _run(n, args, args.log_dir))
        sections.append(section)
        for table in section.tables:
            _say("\n" + render_text(table) + "\n")
        if section.skipped:
            _say(f"  not measured: {section.skipped}")
        _say(f"== {name} done in {time.monotonic() - t0:.0f} s")

    if {"operator", "kwok"} & {s.key for s in sections}:
        _kwok_down(args.log_dir)
    header = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        **{k: v for k, v in machine().items()},
        "load average (1/5/15 min) at start": load_before,
        "load average at end": load_average(),
        **{f"version: {k}": v for k, v in _versions().items()},
        "sections": ", ".join(s.key for s in sections),
    }
    command = (
        "make bench"
        if not argv and not args.only
        else "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    args.results.write_text(render_markdown(header, sections, command, _preamble()))
    _say(f"wrote {args.results}")
    return 0


def _kwok_down(log_dir: Path) -> None:
    """The fake nodes go when the bench is done, so nobody else's cluster sees them."""
    import subprocess

    with (log_dir / "kwok.log").open("ab") as out:
        subprocess.run(
            [str(BENCH_DIR.parent / "hack/kwok"), "down"], stdout=out, stderr=out, check=False
        )


def _guarded(name: str, run: Callable[[], Section]) -> Section:
    """A section that fails is reported as not measured, with why; the others go on."""
    try:
        return run()
    except Exception as error:  # a benchmark run: record and continue
        import traceback

        traceback.print_exc()
        return Section(name, name, skipped=f"{type(error).__name__}: {error}")


def _preamble() -> str:
    return (
        "The machine is shared with other engineers' test runs; the load average is "
        "recorded in the table below, and the two systems of each comparison run "
        "interleaved so that load falls on both alike."
    )


if __name__ == "__main__":
    sys.exit(main())
