"""Dagster's half of the local comparisons: the same no-op assets as `kasset_side`, built
from the same `Shape`, run by `materialize()` and by the multiprocess executor.

Each asset is `@dg.asset(name=node, deps=[upstream...])` around a function returning None,
exactly like kasset's: order-only dependencies, one value (None) handed to the IO manager
per step. The multiprocess executor's step processes rebuild the job through
`job_for(shape_name, max_concurrent)` (`build_reconstructable_job`), just as kasset's step
subprocesses re-import `bench.kasset_side:<shape>`.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg

from bench.shapes import Shape, shape_by_name

__all__ = ["assets_of", "executor_config", "job_for", "run_in_process", "run_multiprocess"]

JOB_NAME = "bench"


def _noop():  # type: ignore[no-untyped-def]  # unannotated, like kasset's: any value
    return None


def assets_of(shape: Shape) -> list[dg.AssetsDefinition]:
    return [
        dg.asset(name=node, deps=list(upstream))(_noop) for node, upstream in shape.deps.items()
    ]


def executor_config(max_concurrent: int) -> dict[str, int]:
    """Only the concurrency: everything else (the `spawn` start method, retries) stays
    Dagster's default."""
    return {"max_concurrent": max_concurrent}


def job_for(shape_name: str, max_concurrent: int) -> dg.JobDefinition:
    """The asset job of a shape on the multiprocess executor (Dagster's default executor),
    at most `max_concurrent` step processes."""
    executor = dg.multiprocess_executor.configured(executor_config(max_concurrent))
    defs = dg.Definitions(
        assets=assets_of(shape_by_name(shape_name)),
        jobs=[dg.define_asset_job(JOB_NAME, selection="*", executor_def=executor)],
    )
    return defs.resolve_job_def(JOB_NAME)


def run_in_process(shape: Shape) -> float:
    """Seconds for `dg.materialize(assets)`: Dagster's in-process executor (serial), with
    values kept in memory (`mem_io_manager`) as kasset's `materialize()` keeps them."""
    items = assets_of(shape)
    start = time.perf_counter()
    result = dg.materialize(items, resources={"io_manager": dg.mem_io_manager})
    elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError(f"dagster materialize() of {shape.name} failed")
    return elapsed


def run_multiprocess(shape: Shape, jobs: int, home: Path) -> float:
    """Seconds for `execute_job` of the shape's job on the multiprocess executor, with a
    persistent (sqlite) instance under `home` and the default filesystem IO manager."""
    repo_root = str(Path(__file__).resolve().parent.parent)
    job = dg.build_reconstructable_job(
        __name__,
        job_for.__name__,
        reconstructable_args=(shape.name, jobs),  # type: ignore[arg-type]
        reconstructor_working_directory=repo_root,
    )
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        start = time.perf_counter()
        with dg.execute_job(job, instance=instance) as result:
            elapsed = time.perf_counter() - start
            if not result.success:
                raise RuntimeError(f"dagster multiprocess run of {shape.name} failed")
            steps = len(result.get_step_success_events())
    if steps != shape.steps:
        raise RuntimeError(f"{shape.name}: dagster ran {steps} steps, not {shape.steps}")
    return elapsed
