from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from kasset import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    asset_check,
)
from kasset.definitions.keys import AssetKey, StepKey
from kasset.definitions.partitions import PartitionsDefinition
from kasset.errors import DefinitionError, PartitionError, StorageError, UserCodeError
from kasset.runtime.io_managers import (
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    IOManager,
    OutputContext,
)
from kasset.runtime.sinks import ListSink
from kasset.runtime.step import StepOutcome, execute_step

REGIONS = StaticPartitionsDefinition(["eu", "us", "apac"])


def run(defs: Definitions, step: str, io_manager: Any = None, **kwargs: Any) -> StepOutcome:
    return execute_step(
        defs,
        StepKey.from_string(step),
        run_id="run-1",
        attempt=1,
        io_manager=io_manager if io_manager is not None else InMemoryIOManager(),
        sink=kwargs.pop("sink", ListSink()),
        **kwargs,
    )


def types(outcome: StepOutcome) -> list[str]:
    return [event.type for event in outcome.events]


def test_a_step_reports_started_materialized_and_succeeded() -> None:
    @asset
    def numbers() -> list[int]:
        return [1, 2]

    sink = ListSink()
    io = InMemoryIOManager()
    outcome = run(Definitions(assets=[numbers]), "numbers", io, sink=sink)
    assert outcome.success and outcome.value == [1, 2] and outcome.error is None
    assert types(outcome) == ["STEP_STARTED", "ASSET_MATERIALIZED", "STEP_SUCCEEDED"]
    assert sink.events == outcome.events
    assert io.values[(AssetKey("numbers"), None)] == [1, 2]
    assert all(e.run == "run-1" and e.step == "numbers" and e.attempt == 1 for e in sink.events)


def test_user_exception_is_reported_with_its_traceback_and_fails_the_step() -> None:
    @asset
    def broken() -> None:
        raise ValueError("the source file is empty")

    outcome = run(Definitions(assets=[broken]), "broken")
    assert not outcome.success and outcome.retryable
    assert isinstance(outcome.error, UserCodeError)
    assert isinstance(outcome.error.original, ValueError)
    assert outcome.message == "ValueError: the source file is empty"
    assert types(outcome) == ["STEP_STARTED", "STEP_FAILED"]
    error = outcome.events[-1].payload.error
    assert error is not None and error.type == "ValueError" and error.retryable
    assert error.message == "the source file is empty"
    assert error.traceback is not None
    assert 'in broken\n    raise ValueError("the source file is empty")' in error.traceback
    assert "execute" not in error.traceback  # kasset's own frame is left out


def test_exception_types_outside_builtins_are_named_with_their_module() -> None:
    class SourceMissingError(Exception):
        pass

    @asset
    def broken() -> None:
        raise SourceMissingError("gone")

    outcome = run(Definitions(assets=[broken]), "broken")
    error = outcome.events[-1].payload.error
    assert error is not None and error.type.endswith("SourceMissingError")
    assert error.type.startswith(__name__)


def test_a_huge_traceback_is_bounded_in_the_event() -> None:
    @asset
    def deep() -> None:
        def recurse(n: int) -> None:
            if n == 0:
                raise RuntimeError("bottom")
            recurse(n - 1)

        recurse(500)

    outcome = run(Definitions(assets=[deep]), "deep")
    error = outcome.events[-1].payload.error
    assert error is not None and error.traceback is not None
    assert len(error.traceback.encode()) <= 8192
    assert error.traceback.rstrip().endswith("RuntimeError: bottom")


def test_materialize_result_carries_metadata_and_data_version() -> None:
    @asset
    def orders(context: AssetExecutionContext) -> MaterializeResult:
        context.add_output_metadata({"source": "api", "rows": 1})
        return MaterializeResult(value=[1, 2, 3], metadata={"rows": 3}, data_version="v7")

    io = InMemoryIOManager()
    outcome = run(Definitions(assets=[orders]), "orders", io)
    assert outcome.value == [1, 2, 3]
    assert io.values[(AssetKey("orders"), None)] == [1, 2, 3]
    materialized = outcome.events[1].payload
    assert materialized.metadata == {"source": "api", "rows": 3}  # the result wins
    assert materialized.data_version == "v7"
    assert materialized.duration_seconds is not None and materialized.duration_seconds >= 0


def test_a_materialize_result_without_value_stores_nothing() -> None:
    @asset
    def written_elsewhere() -> MaterializeResult:
        return MaterializeResult(metadata={"table": "db.orders"})

    io = InMemoryIOManager()
    outcome = run(Definitions(assets=[written_elsewhere]), "written_elsewhere", io)
    assert outcome.success and io.values == {}
    assert outcome.events[1].payload.output_uri is None
    assert outcome.events[1].payload.metadata == {"table": "db.orders"}


def test_storage_metadata_and_uri_are_reported(tmp_path: Any) -> None:
    @asset
    def orders() -> list[int]:
        return [1]

    outcome = run(Definitions(assets=[orders]), "orders", FilesystemIOManager(str(tmp_path)))
    payload = outcome.events[1].payload
    assert payload.output_uri == f"file://{tmp_path}/orders/__all__.pkl"
    assert payload.metadata["format"] == "pickle" and isinstance(payload.metadata["bytes"], int)


def test_a_value_that_cannot_be_stored_fails_the_step_for_good(tmp_path: Any) -> None:
    @asset
    def lock() -> Any:
        return threading.Lock()

    outcome = run(Definitions(assets=[lock]), "lock", FilesystemIOManager(str(tmp_path)))
    assert not outcome.success and not outcome.retryable
    assert isinstance(outcome.error, StorageError)
    assert types(outcome) == ["STEP_STARTED", "STEP_FAILED"]
    error = outcome.events[-1].payload.error
    assert error is not None and error.type == "StorageError" and not error.retryable
    assert "cannot store the value of asset 'lock'" in error.message
    assert "cannot pickle" in outcome.message


def test_a_missing_upstream_value_fails_the_step_for_good() -> None:
    @asset
    def upstream() -> int:
        return 1

    @asset
    def downstream(upstream: int) -> int:
        return upstream

    outcome = run(Definitions(assets=[upstream, downstream]), "downstream")
    assert not outcome.success and not outcome.retryable
    assert "asset 'upstream' has no stored value" in outcome.message


def test_inputs_are_loaded_by_parameter_name_and_by_asset_in() -> None:
    @asset(key_prefix="raw")
    def orders() -> list[int]:
        return [1, 2]

    @asset
    def total(items: list[int]) -> int:
        return sum(items)

    total_with_in = asset(ins={"items": AssetIn("raw/orders")})(total.fn)
    defs = Definitions(assets=[orders, total_with_in])
    io = InMemoryIOManager()
    run(defs, "raw/orders", io)
    assert run(defs, "total", io).value == 3


def test_same_partition_is_loaded_for_a_partitioned_downstream() -> None:
    @asset(partitions_def=REGIONS)
    def sales(context: AssetExecutionContext) -> str:
        return f"sales of {context.partition_key}"

    @asset(partitions_def=REGIONS)
    def report(sales: str) -> str:
        return sales.upper()

    defs = Definitions(assets=[sales, report])
    io = InMemoryIOManager()
    for region in ("eu", "us"):
        run(defs, f"sales[{region}]", io)
    assert run(defs, "report[us]", io).value == "SALES OF US"


def test_an_unpartitioned_upstream_is_loaded_whole_by_every_partition() -> None:
    @asset
    def rates() -> dict[str, float]:
        return {"eu": 1.1, "us": 1.0}

    @asset(partitions_def=REGIONS)
    def converted(context: AssetExecutionContext, rates: dict[str, float]) -> float:
        return rates[context.partition_key]

    defs = Definitions(assets=[rates, converted])
    io = InMemoryIOManager()
    run(defs, "rates", io)
    assert run(defs, "converted[eu]", io).value == 1.1


def test_fan_in_receives_all_partitions_as_a_dict(tmp_path: Any) -> None:
    @asset(partitions_def=REGIONS)
    def sales(context: AssetExecutionContext) -> int:
        return len(context.partition_key)

    @asset
    def total(sales: dict[str, int]) -> dict[str, int]:
        return sales

    defs = Definitions(assets=[sales, total])
    for io in (InMemoryIOManager(), FilesystemIOManager(str(tmp_path))):
        for region in ("apac", "eu"):  # "us" was never materialized
            run(defs, f"sales[{region}]", io)
        outcome = run(defs, "total", io)
        assert outcome.value == {"eu": 2, "apac": 4}
        assert list(outcome.value) == ["eu", "apac"]  # in the partitions' order


class _Bare(IOManager):
    """A custom IO manager with neither has_output nor stored_partitions."""

    def __init__(self) -> None:
        self.values: dict[tuple[AssetKey, str | None], Any] = {}
        self.loads: list[str | None] = []

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.values[(context.asset_key, context.partition_key)] = obj

    def load_input(self, context: InputContext) -> Any:
        self.loads.append(context.partition_key)
        return self.values[(context.asset_key, context.partition_key)]  # KeyError if absent


def test_fan_in_tries_loading_when_the_io_manager_cannot_list() -> None:
    @asset(partitions_def=REGIONS)
    def sales() -> int:
        return 1

    @asset
    def total(sales: dict[str, int]) -> int:
        return sum(sales.values())

    defs = Definitions(assets=[sales, total])
    io = _Bare()
    run(defs, "sales[us]", io)
    assert run(defs, "total", io).value == 1
    assert io.loads == ["eu", "us", "apac"]


def test_fan_in_keys_can_be_narrowed_by_the_caller() -> None:
    days = DailyPartitionsDefinition(start="2024-01-01")

    @asset(partitions_def=days)
    def visits(context: AssetExecutionContext) -> str:
        return context.partition_key

    @asset
    def history(visits: dict[str, str]) -> list[str]:
        return list(visits)

    defs = Definitions(assets=[visits, history])
    io = InMemoryIOManager()
    for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
        run(defs, f"visits[{day}]", io)

    def first_two(upstream: AssetKey, partitions: PartitionsDefinition) -> Sequence[str]:
        return partitions.key_range("2024-01-01", "2024-01-02")

    narrowed = run(defs, "history", io, partition_keys_for_fan_in=first_two)
    assert narrowed.value == ["2024-01-01", "2024-01-02"]
    fixed_now = run(defs, "history", io, clock=lambda: datetime(2024, 1, 3, 12, tzinfo=UTC))
    assert fixed_now.value == ["2024-01-01", "2024-01-02"]  # 2024-01-03 is not over yet


def test_the_context_knows_the_partition_and_its_time_window() -> None:
    days = DailyPartitionsDefinition(start="2024-01-01")
    seen: list[AssetExecutionContext] = []

    @asset(partitions_def=days, metadata={"owner": "data"})
    def visits(context: AssetExecutionContext) -> None:
        seen.append(context)

    outcome = execute_step(
        Definitions(assets=[visits]),
        StepKey(AssetKey("visits"), "2024-01-02"),
        run_id="r",
        attempt=3,
        io_manager=InMemoryIOManager(),
        sink=ListSink(),
    )
    assert outcome.success
    context = seen[0]
    assert (context.run_id, context.partition_key, context.attempt) == ("r", "2024-01-02", 3)
    assert context.partition_time_window == (
        datetime(2024, 1, 2, tzinfo=days.tz),
        datetime(2024, 1, 3, tzinfo=days.tz),
    )
    assert context.metadata == {"owner": "data"}


def test_resources_are_injected_by_parameter_name() -> None:
    @asset
    def report(warehouse: Any) -> str:
        return str(warehouse.name)

    class Warehouse:
        name = "prod"

    class Other:
        name = "staging"

    defs = Definitions(assets=[report], resources={"warehouse": Warehouse()})
    assert run(defs, "report").value == "prod"
    assert run(defs, "report", resources={"warehouse": Other()}).value == "staging"


def test_a_missing_resource_is_a_definition_error_before_anything_is_reported() -> None:
    @asset(required_resource_keys=["warehouse"])
    def report(warehouse: Any) -> None:
        pass

    sink = ListSink()
    with pytest.raises(DefinitionError, match="needs the resource 'warehouse'"):
        run(Definitions(assets=[report]), "report", sink=sink)
    assert sink.events == []


def test_a_step_for_an_unknown_asset_or_partition_is_refused() -> None:
    @asset(partitions_def=REGIONS)
    def sales() -> int:
        return 1

    defs = Definitions(assets=[sales])
    with pytest.raises(DefinitionError, match="no asset 'nope'"):
        run(defs, "nope")
    with pytest.raises(PartitionError):
        run(defs, "sales[mars]")
    with pytest.raises(PartitionError, match="needs a partition key"):
        run(defs, "sales")


def test_checks_are_evaluated_after_the_materialization() -> None:
    @asset
    def orders() -> list[int]:
        return [1, 2]

    @asset_check(asset=orders)
    def has_rows(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=bool(orders), metadata={"rows": len(orders)})

    @asset_check(asset=orders)
    def no_negatives(orders: list[int]) -> bool:
        return all(n >= 0 for n in orders)

    outcome = run(Definitions(assets=[orders, has_rows, no_negatives]), "orders")
    assert outcome.success
    assert types(outcome) == [
        "STEP_STARTED",
        "ASSET_MATERIALIZED",
        "ASSET_CHECK_EVALUATED",
        "ASSET_CHECK_EVALUATED",
        "STEP_SUCCEEDED",
    ]
    checks = [e.payload for e in outcome.events if e.type == "ASSET_CHECK_EVALUATED"]
    assert [(p.check.name, p.check.passed) for p in checks if p.check] == [
        ("has_rows", True),
        ("no_negatives", True),
    ]
    assert checks[0].metadata == {"rows": 2}


def test_a_raising_check_is_a_failed_check_with_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @asset
    def orders() -> list[int]:
        return []

    @asset_check(asset=orders)
    def first_is_positive(orders: list[int]) -> bool:
        return orders[0] > 0

    outcome = run(Definitions(assets=[orders, first_is_positive]), "orders")
    assert outcome.success  # not blocking
    check = outcome.events[2].payload
    assert check.check is not None and not check.check.passed
    assert check.metadata["error"] == "IndexError: list index out of range"
    assert "return orders[0] > 0" in str(check.metadata["traceback"])
    assert "first_is_positive" in caplog.text


def test_a_failed_blocking_check_fails_the_step_without_retry() -> None:
    @asset
    def orders() -> list[int]:
        return []

    @asset_check(asset=orders, blocking=True)
    def has_rows(orders: list[int]) -> bool:
        return bool(orders)

    outcome = run(Definitions(assets=[orders, has_rows]), "orders")
    assert not outcome.success and not outcome.retryable and outcome.error is None
    assert outcome.value == []
    assert types(outcome)[-2:] == ["ASSET_CHECK_EVALUATED", "STEP_FAILED"]
    error = outcome.events[-1].payload.error
    assert error is not None and error.type == "BlockingCheckFailed" and not error.retryable
    assert "has_rows" in error.message and "has_rows" in outcome.message


def test_a_blocking_check_failing_with_a_warning_does_not_block() -> None:
    @asset
    def orders() -> list[int]:
        return []

    @asset_check(asset=orders, blocking=True)
    def has_rows(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN)

    outcome = run(Definitions(assets=[orders, has_rows]), "orders")
    assert outcome.success
    check = outcome.events[2].payload.check
    assert check is not None and check.severity == "WARN"


def test_a_check_returning_something_else_fails() -> None:
    @asset
    def orders() -> int:
        return 1

    @asset_check(asset=orders)
    def vague(orders: int) -> Any:
        return "yes"

    outcome = run(Definitions(assets=[orders, vague]), "orders")
    payload = outcome.events[2].payload
    assert payload.check is not None and not payload.check.passed
    assert "returned str" in str(payload.metadata["error"])


def test_checks_of_an_asset_that_stored_its_own_value_load_it() -> None:
    @asset
    def table() -> MaterializeResult:
        return MaterializeResult()

    @asset_check(asset=table)
    def exists(table: Any) -> bool:
        return table is not None

    io = InMemoryIOManager()
    io.values[(AssetKey("table"), None)] = "stored by the function"
    assert run(Definitions(assets=[table, exists]), "table", io).events[2].payload.check.passed  # type: ignore[union-attr]


def test_a_failing_custom_io_manager_is_a_retryable_user_error() -> None:
    class Flaky(IOManager):
        def handle_output(self, context: OutputContext, obj: Any) -> None:
            raise ConnectionError("warehouse unreachable")

        def load_input(self, context: InputContext) -> Any:
            raise NotImplementedError

    @asset
    def orders() -> int:
        return 1

    outcome = run(Definitions(assets=[orders]), "orders", Flaky())
    assert not outcome.success and outcome.retryable
    assert isinstance(outcome.error, UserCodeError)
    assert outcome.message == "ConnectionError: warehouse unreachable"


def test_system_exit_in_user_code_fails_the_step_instead_of_the_process() -> None:
    @asset
    def quits() -> None:
        raise SystemExit(3)

    outcome = run(Definitions(assets=[quits]), "quits")
    assert not outcome.success and outcome.message == "SystemExit: 3"
