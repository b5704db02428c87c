"""kasset's half of every comparison: no-op assets built from a `Shape`, and the two
local ways to run them (in-process `materialize()` and the subprocess executor).

Step subprocesses import this module by name (`bench.kasset_side:<shape name>`), so it
imports nothing heavy at the top and builds each shape's Definitions on first access.
"""

from __future__ import annotations

import io
import time
from functools import cache
from pathlib import Path
from typing import Any

from bench.shapes import Shape, shape_by_name
from kasset import Definitions, asset
from kasset.definitions.asset import AssetsDefinition

__all__ = ["assets_of", "definitions_of", "run_in_process", "run_subprocesses"]

MODULE = "bench.kasset_side"


def _noop() -> None:
    return None


def assets_of(shape: Shape) -> list[AssetsDefinition]:
    """One `@asset` per node, order-only `deps` on its upstream nodes, returning None."""
    return [asset(_noop, name=node, deps=list(upstream)) for node, upstream in shape.deps.items()]


@cache
def definitions_of(shape_name: str) -> Definitions:
    return Definitions(assets=assets_of(shape_by_name(shape_name)))


def __getattr__(name: str) -> Any:
    # `bench.kasset_side:chain_100` is a code location: the attribute is the shape's name.
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return definitions_of(name)
    except ValueError:
        raise AttributeError(f"module {MODULE!r} has no attribute {name!r}") from None


def run_in_process(shape: Shape) -> float:
    """Seconds for `materialize(assets)`: serial, values kept in memory (its defaults)."""
    from kasset import materialize  # not at the top: step pods import this module

    items = assets_of(shape)
    start = time.perf_counter()
    result = materialize(items)
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError(f"kasset materialize() of {shape.name} failed: {result.phase}")
    return elapsed


def run_subprocesses(shape: Shape, jobs: int, home: Path) -> float:
    """Seconds for the local executor (`kasset materialize MODULE --local -j JOBS`, through
    its Python API): one `python -m kasset.runtime` per step, pickles under `home`."""
    from kasset.local.executor import run_local
    from kasset.local.loading import CodeLocation

    repo_root = str(Path(__file__).resolve().parent.parent)
    location = CodeLocation(MODULE, shape.name, repo_root)
    defs = definitions_of(shape.name)
    start = time.perf_counter()
    run = run_local(defs, location, max_parallel=jobs, home=home, stream=io.StringIO(), tty=False)
    elapsed = time.perf_counter() - start
    if not run.success:
        raise RuntimeError(f"kasset local executor run of {shape.name} failed: {run.phase}")
    if len(run.state.steps) != shape.steps:
        raise RuntimeError(f"{shape.name}: ran {len(run.state.steps)} steps, not {shape.steps}")
    return elapsed
