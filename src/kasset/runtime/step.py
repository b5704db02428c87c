"""Runs one step: load the inputs, call the asset, store its value, run its checks, and
report each of those as an event. The same function runs in a pod, in a local
subprocess and inside `materialize()`, so a step behaves the same everywhere.

It is on the in-process hot path: per step it builds a handful of small objects and
three events, and nothing else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kasset.definitions.asset import AssetsDefinition
from kasset.definitions.check import AssetChecksDefinition
from kasset.definitions.context import AssetExecutionContext, InputPartitions
from kasset.definitions.definitions import Definitions
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.partitions import (
    DynamicPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from kasset.definitions.results import (
    NO_VALUE,
    AssetCheckResult,
    AssetCheckSeverity,
    MaterializeResult,
)
from kasset.errors import DefinitionError, PartitionError, StorageError, UserCodeError
from kasset.runtime.inputs import FanInKeys, InputLoader
from kasset.runtime.io_managers import (
    InputContext,
    IOManager,
    OutputContext,
    OutputNotFoundError,
)
from kasset.runtime.records import (
    ERROR_TYPE_BLOCKING_CHECK,
    EventBuilder,
    EventRecord,
    error_payload,
    is_bool,
    truncate_traceback,
    utc_now,
)
from kasset.runtime.sinks import EventSink
from kasset.runtime.user_errors import (
    error_type_name,
    safe_str,
    user_code_error,
    user_error_payload,
)

__all__ = ["StepOutcome", "execute_step"]

logger = logging.getLogger("kasset.runtime")
_CHECK_TRACEBACK_BYTES = 1000


@dataclass
class StepOutcome:
    """How one attempt of a step ended. `value` is what the asset produced (also when a
    blocking check failed); `retryable` says whether another attempt could succeed."""

    success: bool
    value: Any
    events: list[EventRecord] = field(default_factory=list)
    error: UserCodeError | StorageError | None = None
    retryable: bool = False
    message: str = ""


def execute_step(
    defs: Definitions,
    step: StepKey,
    *,
    run_id: str,
    attempt: int,
    io_manager: IOManager,
    sink: EventSink,
    resources: Mapping[str, Any] | None = None,
    partition_keys_for_fan_in: FanInKeys | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> StepOutcome:
    """Runs `step` and reports it to `sink`: STEP_STARTED, then ASSET_MATERIALIZED and one
    ASSET_CHECK_EVALUATED per check, then STEP_SUCCEEDED or STEP_FAILED.

    A failure of the user's code, of storage or of a blocking check is an outcome, not
    an exception. A step that cannot run as asked (unknown asset, wrong partition, a
    missing resource) raises DefinitionError before reporting anything.
    """
    definition = defs.assets.get(step.asset)
    if definition is None:
        raise DefinitionError(f"step '{step}': the definitions have no asset '{step.asset}'")
    _check_partition(definition, step)
    injected = _resources(defs, definition, resources)
    run = _StepRun(
        defs, definition, step, run_id, attempt, io_manager, sink, clock, partition_keys_for_fan_in
    )
    return run.execute(injected)


class _StepRun:
    """The state of one execution; `execute` is the whole story, top to bottom."""

    def __init__(
        self,
        defs: Definitions,
        definition: AssetsDefinition,
        step: StepKey,
        run_id: str,
        attempt: int,
        io_manager: IOManager,
        sink: EventSink,
        clock: Callable[[], datetime],
        fan_in_keys: FanInKeys | None,
    ) -> None:
        self.defs, self.definition, self.step = defs, definition, step
        self.run_id, self.attempt, self.io_manager, self.sink = run_id, attempt, io_manager, sink
        self.clock = clock
        self.inputs = InputLoader(
            defs, io_manager, run_id, fan_in_keys or self.existing_keys, clock
        )
        self.builder = EventBuilder(
            run_id, step.to_string(), step.asset.to_string(), step.partition, attempt, clock
        )
        self.events: list[EventRecord] = []
        self.started = time.perf_counter()

    def execute(self, injected: dict[str, Any]) -> StepOutcome:
        key, definition = self.step.asset, self.definition
        self.emit(self.builder.started())
        try:
            by_param = self.defs.inputs[key].by_param
            kwargs = self.inputs.load_inputs(by_param, key, self.step.partition)
        except StorageError as error:
            return self.storage_failure(error, retryable=not isinstance(error, OutputNotFoundError))
        except UserCodeError as error:
            return self.user_failure(error)
        kwargs.update(injected)
        context = None
        if definition.context_param is not None:
            context = self.context(definition.metadata)
            kwargs[definition.context_param] = context
        try:
            result = definition.fn(**kwargs)
        except (Exception, SystemExit) as error:
            return self.user_failure(user_code_error(error, self.describe()))
        value, metadata, data_version = _unwrap(result, context)
        uri = None
        if value is not NO_VALUE:
            output = OutputContext(
                key, self.step.partition, self.run_id, self.step, definition.metadata
            )
            try:
                self.io_manager.handle_output(output, value)
            except StorageError as error:
                return self.storage_failure(error, retryable=False, value=value)
            except Exception as error:
                where = f"the IO manager, storing {self.describe()}"
                return self.user_failure(user_code_error(error, where))
            if not self.output_exists():
                missing = StorageError(
                    f"the IO manager stored {self.describe()} but has no value for it afterwards"
                )
                return self.storage_failure(missing, retryable=True, value=value)
            if output.metadata:
                metadata = {**output.metadata, **metadata}
            uri = output.uri
        self.emit(self.builder.materialized(metadata, uri, data_version, self.elapsed()))
        blocked = self.run_checks(value)
        if blocked:
            names = ", ".join(blocked)
            message = f"blocking check(s) of asset '{key}' failed: {names}"
            payload = error_payload(ERROR_TYPE_BLOCKING_CHECK, message, retryable=False)
            self.emit(self.builder.failed(payload, self.elapsed()))
            return StepOutcome(False, value, self.events, None, False, message)
        self.emit(self.builder.succeeded(self.elapsed()))
        return StepOutcome(True, value, self.events, None, False, "")

    def run_checks(self, value: Any) -> list[str]:
        """Runs every check of the asset; the names of the blocking checks that failed."""
        blocked: list[str] = []
        for check in self.defs.checks.get(self.step.asset, ()):
            result = self.run_check(check, value)
            severity: Literal["ERROR", "WARN"] = (
                "WARN" if result.severity is AssetCheckSeverity.WARN else "ERROR"
            )
            self.emit(
                self.builder.check_evaluated(
                    check.name, result.passed, severity, _check_metadata(result)
                )
            )
            if check.blocking and not result.passed and severity == "ERROR":
                blocked.append(check.name)
        return blocked

    def run_check(self, check: AssetChecksDefinition, value: Any) -> AssetCheckResult:
        try:
            by_param = self.defs.check_inputs[check.qualified_name].by_param
            kwargs = self.inputs.load_inputs(by_param, self.step.asset, self.step.partition)
            if check.value_param is not None:
                kwargs[check.value_param] = self.own_value(value)
            if check.context_param is not None:
                kwargs[check.context_param] = self.context(self.definition.metadata)
            result = check.fn(**kwargs)
        except (Exception, SystemExit) as error:
            where = f"check '{check.name}' of {self.describe()}"
            wrapped = error if isinstance(error, UserCodeError) else user_code_error(error, where)
            logger.warning("%s\n%s", wrapped, wrapped.traceback_text.rstrip())
            original = wrapped.original
            traceback_text = truncate_traceback(wrapped.traceback_text, _CHECK_TRACEBACK_BYTES)
            return AssetCheckResult(
                passed=False,
                metadata={
                    "error": f"{error_type_name(original)}: {safe_str(original)}",
                    "traceback": traceback_text,
                },
            )
        if isinstance(result, AssetCheckResult):
            return result
        if is_bool(result):
            return AssetCheckResult(passed=bool(result))
        return AssetCheckResult(
            passed=False,
            metadata={
                "error": f"the check returned {type(result).__name__}, "
                "expected an AssetCheckResult or a bool"
            },
        )

    def output_exists(self) -> bool:
        """Whether the value just stored can be found: a success is reported only for an
        output its downstream can read. An IO manager without `has_output` is trusted."""
        where = InputContext(self.step.asset, self.step.partition, run_id=self.run_id)
        try:
            return self.io_manager.has_output(where)
        except NotImplementedError:
            return True

    def own_value(self, value: Any) -> Any:
        """The asset's value for its checks: the one just produced, or, when the function
        stored it itself (no value returned), whatever the IO manager holds."""
        if value is not NO_VALUE:
            return value
        try:
            return self.inputs.load_value(self.step.asset, self.step.asset, self.step.partition)
        except OutputNotFoundError:
            return None

    def context(self, metadata: Mapping[str, Any]) -> AssetExecutionContext:
        partitions = self.definition.partitions_def
        window = None
        if isinstance(partitions, TimeWindowPartitionsDefinition) and self.step.partition:
            window = partitions.time_window(self.step.partition)
        context = AssetExecutionContext(
            self.run_id, self.step.asset, self.step.partition, self.attempt, metadata, window
        )
        context.partitions_def = partitions
        if self.step.partition is not None:
            context.input_partitions = self.input_partitions(self.step.partition)
        return context

    def input_partitions(self, partition: str) -> dict[str, InputPartitions]:
        """What each partitioned input of the step's partition was mapped to."""
        result: dict[str, InputPartitions] = {}
        for param, upstream in self.defs.inputs[self.step.asset].by_param.items():
            theirs = self.defs.assets[upstream].partitions_def
            if theirs is not None:
                keys = self.inputs.mapped_keys(upstream, self.step.asset, partition)
                result[param] = InputPartitions(theirs, tuple(keys))
        return result

    def existing_keys(self, upstream: AssetKey, partitions: PartitionsDefinition) -> list[str]:
        return partitions.keys(self.clock())

    def emit(self, event: EventRecord) -> None:
        self.events.append(event)
        self.sink.emit(event)

    def elapsed(self) -> float:
        return max(0.0, time.perf_counter() - self.started)

    def describe(self) -> str:
        part = f" partition '{self.step.partition}'" if self.step.partition is not None else ""
        return f"asset '{self.step.asset}'{part}"

    def user_failure(self, error: UserCodeError) -> StepOutcome:
        self.emit(self.builder.failed(user_error_payload(error), self.elapsed()))
        original = error.original
        message = f"{error_type_name(original)}: {safe_str(original)}"
        return StepOutcome(False, None, self.events, error, True, message)

    def storage_failure(
        self, error: StorageError, *, retryable: bool, value: Any = None
    ) -> StepOutcome:
        message = safe_str(error)
        payload = error_payload(type(error).__name__, message, retryable=retryable)
        self.emit(self.builder.failed(payload, self.elapsed()))
        return StepOutcome(False, value, self.events, error, retryable, message)


def _check_partition(definition: AssetsDefinition, step: StepKey) -> None:
    partitions = definition.partitions_def
    if isinstance(partitions, DynamicPartitionsDefinition) and step.partition is not None:
        partitions.add_keys([step.partition])  # the planner, which owns the keys, chose it
    if partitions is None and step.partition is not None:
        raise PartitionError(f"step '{step}': asset '{step.asset}' is not partitioned")
    if partitions is not None:
        if step.partition is None:
            raise PartitionError(
                f"step '{step}': asset '{step.asset}' is partitioned, "
                "the step needs a partition key"
            )
        partitions.validate_key(step.partition)


def _resources(
    defs: Definitions, definition: AssetsDefinition, given: Mapping[str, Any] | None
) -> dict[str, Any]:
    injected: dict[str, Any] = {}
    for name in defs.inputs[definition.key].resource_params:
        if given is not None and name in given:
            injected[name] = given[name]
        elif name in defs.resources:
            injected[name] = defs.resources[name]
        else:
            raise DefinitionError(
                f"asset '{definition.key}' needs the resource '{name}', which "
                "is not in Definitions(resources=...)"
            )
    return injected


def _unwrap(
    result: Any, context: AssetExecutionContext | None
) -> tuple[Any, Mapping[str, Any], str | None]:
    """(value, metadata, data version) of what the function returned."""
    if isinstance(result, MaterializeResult):
        value, metadata, data_version = result.value, result.metadata, result.data_version
    else:
        value, metadata, data_version = result, {}, None
    if context is not None and context.output_metadata:
        metadata = {**context.output_metadata, **metadata}
    return value, metadata, data_version


def _check_metadata(result: AssetCheckResult) -> Mapping[str, Any]:
    if result.description:
        return {"description": result.description, **result.metadata}
    return result.metadata
