"""One local measurement in a fresh interpreter, so neither system runs warm from the other
(or from its own previous repetition) and both pay the same import and GC state.

    python -m bench.worker SYSTEM MODE SHAPE [--jobs N] [--home DIR]

SYSTEM is `kasset` or `dagster`, MODE `inprocess` or `processes`. Prints one JSON line,
`{"seconds": ...}`, on stdout; whatever the systems log goes to stderr.

In-process runs first materialize a 2-step chain untimed, so the timed run measures the
steady per-step cost rather than first-call imports; process runs need no warm-up, since
every step is a new process anyway.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.shapes import chain, shape_by_name

SYSTEMS = ("kasset", "dagster")
MODES = ("inprocess", "processes")


def measure(system: str, mode: str, shape_name: str, jobs: int, home: Path) -> float:
    shape = shape_by_name(shape_name)
    if system == "kasset":
        from bench import kasset_side as side
    else:
        from bench import dagster_side as side  # type: ignore[no-redef]
    if mode == "inprocess":
        side.run_in_process(chain(2))
        return side.run_in_process(shape)
    if system == "kasset":
        return side.run_subprocesses(shape, jobs, home)  # type: ignore[attr-defined]
    return side.run_multiprocess(shape, jobs, home)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("shape")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--home", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix=f"bench-{args.system}-") as tmp:
        seconds = measure(args.system, args.mode, args.shape, args.jobs, args.home or Path(tmp))
    print(json.dumps({"seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
