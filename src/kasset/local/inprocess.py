"""`materialize()`: run assets inside this Python process, for tests and notebooks.

The plan and the step code are the ones every other executor uses (`plan.advance` and
`runtime.step.execute_step`); only the runner differs: steps run inline, or on threads
when `max_parallel > 1`.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kasset.definitions.asset import AssetsDefinition
from kasset.definitions.check import AssetChecksDefinition
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import StepKey
from kasset.definitions.results import NO_VALUE
from kasset.errors import KassetError, UserCodeError
from kasset.local.loop import drive
from kasset.local.result import ExecutionResult
from kasset.local.run_config import check_run_config
from kasset.plan import (
    Event,
    RetryRequest,
    RunPhase,
    RunState,
    StepFailed,
    StepSucceeded,
    build_plan,
)

__all__ = ["materialize"]


def materialize(
    items: Definitions | Iterable[AssetsDefinition | AssetChecksDefinition],
    partition_key: str | None = None,
    *,
    partition_keys: Sequence[str] | None = None,
    selection: str | None = None,
    resources: Mapping[str, Any] | None = None,
    io_manager: Any = None,
    run_id: str | None = None,
    raise_on_error: bool = True,
    max_parallel: int = 1,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
) -> ExecutionResult:
    """Materializes assets in this process and returns the result.

    >>> from kasset import asset
    >>> @asset
    ... def numbers() -> list[int]: return [1, 2]
    >>> materialize([numbers]).output_for("numbers")
    [1, 2]

    `items` are assets and checks, or a Definitions; `selection` uses the selection
    syntax. Values pass between steps through `io_manager` (default: in memory). With
    `raise_on_error`, a failed run raises the first step's error (a UserCodeError whose
    `__cause__` is the exception the function raised). `run_config` (a RunConfig or
    its dict form) is checked against every selected asset's Config before anything runs.
    """
    from kasset.runtime.io_managers import InMemoryIOManager
    from kasset.runtime.sinks import ListSink

    defs = _definitions(items, resources)
    keys = list(partition_keys or ())
    if partition_key is not None:
        keys.insert(0, partition_key)
    _add_dynamic_keys(defs, selection, keys)
    plan = build_plan(defs.graph, selection, keys or None, max_parallel=max_parallel)
    check_run_config(defs, {step.asset for step in plan.steps}, run_config)
    sink = ListSink()
    runner = InProcessRunner(
        defs,
        run_id or str(uuid.uuid4()),
        io_manager or defs.io_manager or InMemoryIOManager(),
        sink,
        defs.resources,
        threads=max_parallel,
    )
    runner.run_config, runner.tags = run_config, dict(tags or {})
    try:
        state = drive(RunState(plan), runner)
    finally:
        runner.close()
    if state.phase is RunPhase.CANCELED:
        raise KeyboardInterrupt  # only Ctrl-C cancels a run in this process
    result = ExecutionResult(
        runner.run_id,
        state.phase,
        state.message,
        state.steps,
        list(sink.events),
        defs,
        runner.outputs,
    )
    if raise_on_error and not result.success:
        raise _first_error(result, runner.errors)
    return result


def _definitions(
    items: Definitions | Iterable[AssetsDefinition | AssetChecksDefinition],
    resources: Mapping[str, Any] | None,
) -> Definitions:
    if isinstance(items, Definitions):
        if not resources:
            return items
        return Definitions(
            assets=list(items.assets.values()),
            asset_checks=items.all_checks,
            schedules=list(items.schedules.values()),
            jobs=[job.source for job in items.jobs.values() if job.source is not None],
            io_manager=items.io_manager,
            resources={**items.resources, **resources},
        )
    return Definitions(assets=list(items), resources=resources)


class InProcessRunner:
    """Runs each launched step with `execute_step`: at once, or on a thread pool."""

    def __init__(
        self,
        defs: Definitions,
        run_id: str,
        io_manager: Any,
        sink: Any,
        resources: Mapping[str, Any],
        threads: int = 1,
    ) -> None:
        self.defs = defs
        self.run_id = run_id
        self.io_manager = io_manager
        self.sink = sink
        self.resources = resources
        self.outputs: dict[StepKey, Any] = {}
        self.errors: dict[StepKey, BaseException | None] = {}
        self._done: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(threads, "kasset-step") if threads > 1 else None
        self.run_config: Any = None
        self.tags: dict[str, str] = {}

    def launch(self, step: StepKey, attempt: int) -> None:
        self._in_flight += 1
        if self._pool is None:
            self._done.put(self._execute(step, attempt))
        else:
            future = self._pool.submit(self._execute, step, attempt)
            future.add_done_callback(self._collect)

    def _collect(self, future: Future[Event]) -> None:
        self._done.put(future.result())

    def _execute(self, step: StepKey, attempt: int) -> Event:
        from kasset.runtime.step import execute_step

        try:
            outcome = execute_step(
                self.defs,
                step,
                run_id=self.run_id,
                attempt=attempt,
                io_manager=self.io_manager,
                sink=self.sink,
                resources=self.resources,
                run_config=self.run_config,
                run_tags=self.tags,
            )
        except Exception as error:  # a bug below the user's code: fail the step, loudly
            self.errors[step] = error
            return StepFailed(step, attempt, f"{type(error).__name__}: {error}", False)
        if outcome.success:
            # An asset that returned MaterializeResult() without a value outputs None.
            self.outputs[step] = None if outcome.value is NO_VALUE else outcome.value
            return StepSucceeded(step, attempt)
        failure = outcome.error
        self.errors[step] = failure if isinstance(failure, BaseException) else None
        request = outcome.retry_requested
        retry = RetryRequest(request.max_retries, request.delay_seconds) if request else None
        return StepFailed(step, attempt, outcome.message, outcome.retryable, False, retry)

    def stop(self, step: StepKey, attempt: int, reason: str) -> None:
        # A Python thread cannot be interrupted: the plan has already given up on this
        # attempt, and its late outcome will be ignored.
        pass

    def wait(self, timeout: float | None) -> list[Event]:
        if not self._in_flight:
            if timeout:
                time.sleep(timeout)  # only retries are due: nothing can happen before then
            return []
        try:
            events = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._done.empty():
            events.append(self._done.get_nowait())
        self._in_flight -= len(events)
        return events

    def running(self) -> int:
        return self._in_flight

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _first_error(
    result: ExecutionResult, errors: Mapping[StepKey, BaseException | None]
) -> BaseException:
    for step in result.failed_steps:
        error = errors.get(step)
        if isinstance(error, UserCodeError):
            if error.__cause__ is None:
                error.__cause__ = error.original
            return error
        if isinstance(error, KassetError):
            return error
        if error is not None:
            wrapped = UserCodeError(
                f"step '{step}' failed: {type(error).__name__}: {error}",
                original=error,
                traceback_text="",
            )
            wrapped.__cause__ = error
            return wrapped
        return KassetError(f"step '{step}' failed: {result.step_states[step].message}")
    return KassetError(f"run {result.run_id} {result.phase.value.lower()}: {result.message}")


def _add_dynamic_keys(defs: Definitions, selection: str | None, keys: Sequence[str]) -> None:
    """This process is the store of dynamic partitions here: keys a run names are added
    (what `instance.add_dynamic_partitions` does in Dagster before a run)."""
    from kasset.definitions.partitions import DynamicPartitionsDefinition

    for key in defs.graph.select(selection):
        definition = defs.graph.nodes[key].partitions
        if isinstance(definition, DynamicPartitionsDefinition):
            definition.add_keys(keys)
