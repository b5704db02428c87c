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
from kasset.definitions.context import AssetExecutionContext, InputPartitions, StepResources
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
    AssetObservation,
    RetryRequested,
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
    RetryRequestRecord,
    error_payload,
    is_bool,
    truncate_traceback,
    utc_now,
)
from kasset.runtime.resource_scope import ResourceScope
from kasset.runtime.returns import Returned, collect
from kasset.runtime.run_settings import RunSettings
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
    #: The function raised RetryRequested: retry this many times, this long after.
    retry_requested: RetryRequestRecord | None = None


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
    run_config: Any = None,
    run_tags: Mapping[str, str] | None = None,
) -> StepOutcome:
    """Runs `step` and reports it to `sink`: STEP_STARTED, then ASSET_MATERIALIZED and one
    ASSET_CHECK_EVALUATED per check, then STEP_SUCCEEDED or STEP_FAILED.

    A failure of the user's code, of storage or of a blocking check is an outcome, not
    an exception. A step that cannot run as asked (unknown asset, wrong partition, a
    missing resource, invalid config) raises DefinitionError before reporting anything.
    `run_config` is a RunConfig or its dict form; resources are set up for the step and
    torn down after it.
    """
    definition = defs.assets.get(step.asset)
    if definition is None:
        raise DefinitionError(f"step '{step}': the definitions have no asset '{step.asset}'")
    _check_partition(definition, step)
    config = RunSettings.of(run_config, run_tags)
    scope = ResourceScope({**defs.resources, **(resources or {})}, config.resources, run_id)
    try:
        run = _StepRun(
            defs,
            definition,
            step,
            run_id,
            attempt,
            _IOManagers(defs, scope, io_manager),
            sink,
            clock,
            partition_keys_for_fan_in,
        )
        run.config = config
        injected = _open_resources(defs, definition, scope)
        run.op_config, run.config_value = config.for_asset(definition)
        return run.execute(injected, scope)
    finally:
        _close(scope, step)


class _StepRun:
    """The state of one execution; `execute` is the whole story, top to bottom."""

    def __init__(
        self,
        defs: Definitions,
        definition: AssetsDefinition,
        step: StepKey,
        run_id: str,
        attempt: int,
        io_managers: _IOManagers,
        sink: EventSink,
        clock: Callable[[], datetime],
        fan_in_keys: FanInKeys | None,
    ) -> None:
        self.defs, self.definition, self.step = defs, definition, step
        self.run_id, self.attempt, self.sink = run_id, attempt, sink
        self.io_managers = io_managers
        self.clock = clock
        self.config = RunSettings()
        self.op_config: Any = None
        self.config_value: Any = None
        self.resources: dict[str, Any] = {}
        self.inputs = InputLoader(
            defs,
            io_managers.default,
            run_id,
            fan_in_keys or self.existing_keys,
            io_manager_of=io_managers.of,
            now=clock,
        )
        self.builder = EventBuilder(
            run_id, step.to_string(), step.asset.to_string(), step.partition, attempt, clock
        )
        self.events: list[EventRecord] = []
        self.started = time.perf_counter()

    def execute(self, injected: dict[str, Any], scope: ResourceScope) -> StepOutcome:
        key, definition = self.step.asset, self.definition
        self.emit(self.builder.started())
        self.resources = {**scope.opened, **injected}
        try:
            by_param = self.defs.inputs[key].by_param
            kwargs = self.inputs.load_inputs(by_param, key, self.step.partition)
        except StorageError as error:
            return self.storage_failure(error, retryable=not isinstance(error, OutputNotFoundError))
        except UserCodeError as error:
            return self.user_failure(error)
        kwargs.update(injected)
        if definition.config_param is not None:
            kwargs[definition.config_param] = self.config_value
        returned = Returned()
        context = None
        if definition.context_param is not None:
            context = self.context(definition.metadata, returned)
            kwargs[definition.context_param] = context
        try:
            result = definition.fn(**kwargs)
            collect(result, key, returned)
        except RetryRequested as error:
            request = RetryRequestRecord(error.max_retries, error.seconds_to_wait)
            return self.user_failure(user_code_error(error, self.describe()), request)
        except (Exception, SystemExit) as error:
            return self.user_failure(user_code_error(error, self.describe()))
        value, data_version = returned.value, returned.data_version
        metadata: Mapping[str, Any] = returned.metadata
        if context is not None and context.output_metadata:
            metadata = {**context.output_metadata, **metadata}
        uri = None
        if value is not NO_VALUE:
            output = OutputContext(
                key, self.step.partition, self.run_id, self.step, definition.metadata
            )
            try:
                self.io_managers.of(key).handle_output(output, value)
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
        return self.checked(returned.check_results, value)

    def checked(self, results: list[AssetCheckResult], value: Any) -> StepOutcome:
        """The step's end once its value is stored: its checks decide (a blocking one that
        failed fails the step)."""
        blocked = self.report_check_results(results)
        blocked += self.run_checks(value)
        if blocked:
            names = ", ".join(blocked)
            message = f"blocking check(s) of asset '{self.step.asset}' failed: {names}"
            payload = error_payload(ERROR_TYPE_BLOCKING_CHECK, message, retryable=False)
            self.emit(self.builder.failed(payload, self.elapsed()))
            return StepOutcome(False, value, self.events, None, False, message)
        self.emit(self.builder.succeeded(self.elapsed()))
        return StepOutcome(True, value, self.events, None, False, "")

    def report_check_results(self, results: list[AssetCheckResult]) -> list[str]:
        """Reports the check results the asset returned; the blocking ones that failed."""
        declared = {check.name: check for check in self.defs.checks.get(self.step.asset, ())}
        blocked: list[str] = []
        for given in results:
            result = given
            name = given.check_name or (next(iter(declared)) if len(declared) == 1 else None)
            if name is None:
                name = "check"
                result = AssetCheckResult(
                    passed=False,
                    metadata={"error": "an AssetCheckResult returned by an asset needs check_name"},
                )
            self.emit(
                self.builder.check_evaluated(
                    name, result.passed, _severity(result), _check_metadata(result)
                )
            )
            check = declared.get(name)
            failed = not result.passed and _severity(result) == "ERROR"
            if check is not None and check.blocking and failed:
                blocked.append(name)
        return blocked

    def observe(self, observation: AssetObservation) -> None:
        self.emit(
            self.builder.observed(
                observation.asset_key.to_string(),
                observation.metadata,
                observation.data_version,
                observation.partition,
            )
        )

    def run_checks(self, value: Any) -> list[str]:
        """Runs every check of the asset; the names of the blocking checks that failed."""
        blocked: list[str] = []
        for check in self.defs.checks.get(self.step.asset, ()):
            result = self.run_check(check, value)
            severity = _severity(result)
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
                kwargs[check.context_param] = self.context(self.definition.metadata, None)
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
        has_output = getattr(self.io_managers.of(self.step.asset), "has_output", None)
        if has_output is None:
            return True
        try:
            return bool(has_output(where))
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

    def context(
        self, metadata: Mapping[str, Any], returned: Returned | None
    ) -> AssetExecutionContext:
        partitions = self.definition.partitions_def
        window = None
        if isinstance(partitions, TimeWindowPartitionsDefinition) and self.step.partition:
            window = partitions.time_window(self.step.partition)
        context = AssetExecutionContext(
            self.run_id, self.step.asset, self.step.partition, self.attempt, metadata, window
        )
        context.resources = StepResources(self.resources)
        context.op_config = self.op_config
        context.run_tags = dict(self.config.tags)
        context.job_name = self.config.tags.get("kasset.io/job")

        def logged(event: Any) -> None:
            if isinstance(event, AssetObservation):
                self.observe(event)
            elif returned is not None:
                returned.add(event, self.step.asset)
            else:
                raise DefinitionError("a check's context logs only AssetObservations")

        context.event_hook = logged
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

    def user_failure(
        self, error: UserCodeError, retry: RetryRequestRecord | None = None
    ) -> StepOutcome:
        payload = user_error_payload(error, retry_requested=retry)
        self.emit(self.builder.failed(payload, self.elapsed()))
        original = error.original
        if isinstance(original, RetryRequested) and original.__cause__ is not None:
            original = original.__cause__
        message = f"{error_type_name(original)}: {safe_str(original)}"
        return StepOutcome(False, None, self.events, error, True, message, retry)

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


def _open_resources(
    defs: Definitions, definition: AssetsDefinition, scope: ResourceScope
) -> dict[str, Any]:
    """The resources the asset's parameters name, opened; the ones it names in
    `required_resource_keys` are opened too (for `context.resources`)."""
    params = defs.inputs[definition.key].resource_params
    for name in (*definition.required_resource_keys, *params):
        if name not in scope.definitions:
            raise DefinitionError(
                f"asset '{definition.key}' needs the resource '{name}', which "
                "is not in Definitions(resources=...)"
            )
    scope.open(definition.required_resource_keys)
    return scope.open(params)


def _close(scope: ResourceScope, step: StepKey) -> None:
    try:
        scope.close()
    except Exception as error:  # a teardown that fails must not hide the step's outcome
        logger.warning(
            "step '%s': a resource's teardown raised %s: %s", step, type(error).__name__, error
        )


def _severity(result: AssetCheckResult) -> Literal["ERROR", "WARN"]:
    return "WARN" if result.severity is AssetCheckSeverity.WARN else "ERROR"


class _IOManagers:
    """The IO manager of each asset: the resource its `io_manager_key` names, or the
    executor's default for the key `io_manager` when no such resource is given."""

    def __init__(self, defs: Definitions, scope: ResourceScope, default: IOManager) -> None:
        self.defs, self.scope = defs, scope
        self.default = default

    def of(self, key: AssetKey) -> Any:
        definition = self.defs.assets.get(key)
        manager_key = definition.io_manager_key if definition is not None else "io_manager"
        if manager_key in self.scope.definitions:
            return self.scope.get(manager_key)
        if manager_key == "io_manager":
            return self.default
        raise DefinitionError(
            f"asset '{key}' names io_manager_key '{manager_key}', which is not in "
            "Definitions(resources=...)"
        )


def _check_metadata(result: AssetCheckResult) -> Mapping[str, Any]:
    if result.description:
        return {"description": result.description, **result.metadata}
    return result.metadata
