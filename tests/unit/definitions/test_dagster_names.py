"""Dagster's names, signatures and meanings, each as small as it can be shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import kasset
from kasset import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Backoff,
    Config,
    ConfigurableIOManager,
    ConfigurableResource,
    Definitions,
    InputContext,
    Jitter,
    MaterializeResult,
    MetadataValue,
    OutputContext,
    ResourceDefinition,
    RetryPolicy,
    ScheduleDefinition,
    TableRecord,
    UPathIOManager,
    asset,
    build_asset_context,
    define_asset_job,
    materialize,
    resource,
)
from kasset.errors import DefinitionError
from kasset.runtime.events import Event
from kasset.runtime.records import MAX_TYPED_METADATA_VALUE, EventBuilder, summarize_metadata


def test_a_refused_dagster_name_fails_at_import_with_one_line_saying_what_to_use() -> None:
    with pytest.raises(ImportError) as raised:
        exec("from kasset import op", {})
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        "kasset does not support Dagster's op: kasset runs assets, not ops and graphs: "
        "write an @asset"
    )
    with pytest.raises(ImportError, match="no sensors yet"):
        kasset.sensor  # noqa: B018


def test_every_public_name_is_importable() -> None:
    for name in kasset.__all__:
        assert getattr(kasset, name) is not None, name


def test_the_runtime_does_not_import_pydantic_for_a_project_without_config() -> None:
    code = (
        "import sys; import kasset; from kasset.runtime import step; "
        "from kasset import asset, Output, MetadataValue; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_materialize_result_takes_the_asset_key_first_as_dagster_does() -> None:
    result = MaterializeResult("orders", {"rows": 1})
    assert result.asset_key == AssetKey("orders") and result.metadata == {"rows": 1}


def test_plain_values_are_typed_as_dagster_types_them() -> None:
    summary = summarize_metadata(
        {
            "n": 3,
            "url": MetadataValue.url("https://x.test"),
            "key": AssetKey(["raw", "orders"]),
            "schema": MetadataValue.table_schema(
                kasset.TableSchema(columns=[kasset.TableColumn("id", "int")])
            ),
            "when": MetadataValue.timestamp(1700000000.0),
            "nothing": MetadataValue.null(),
            "text": MetadataValue.text("hello"),
        }
    )
    assert summary == {
        "n": 3,
        "url": {"type": "url", "value": "https://x.test"},
        "key": {"type": "asset", "value": "raw/orders"},
        "schema": {"type": "table_schema", "value": {"columns": [{"name": "id", "type": "int"}]}},
        "when": {"type": "timestamp", "value": 1700000000.0},
        "nothing": None,
        "text": "hello",
    }


def test_a_big_table_keeps_the_rows_that_fit_and_says_how_many_were_left_out() -> None:
    rows = [TableRecord({"id": i, "name": "x" * 20}) for i in range(500)]
    entry = summarize_metadata({"t": MetadataValue.table(rows)})["t"]
    assert isinstance(entry, dict) and entry["type"] == "table"
    kept = entry["value"]["records"]
    assert 0 < len(kept) < 500 and entry["value"]["omittedRecords"] == 500 - len(kept)
    assert len(json.dumps(entry)) <= MAX_TYPED_METADATA_VALUE
    event = EventBuilder("run", "a", "a", None, 1).materialized({"t": MetadataValue.table(rows)})
    assert Event.model_validate(event.to_dict()) == event  # the schema accepts it


def test_a_typed_entry_over_the_limit_is_rejected_by_the_schema() -> None:
    event = EventBuilder("run", "a", "a", None, 1).materialized({}).to_dict()
    event["payload"]["metadata"] = {"md": {"type": "md", "value": "x" * 5000}}
    with pytest.raises(ValueError, match="typed metadata value is at most"):
        Event.model_validate(event)


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        (RetryPolicy(3, delay=2, backoff=Backoff.LINEAR), [2, 4, 6]),
        (RetryPolicy(3, delay=2, backoff=Backoff.EXPONENTIAL), [2, 6, 14]),
        (RetryPolicy(3, delay=2, backoff=2), [2, 4, 8]),
        (RetryPolicy(3, delay=2), [2, 2, 2]),
    ],
)
def test_retry_delays_grow_as_dagster_computes_them(policy: RetryPolicy, delays: list[int]) -> None:
    assert [policy.delay_before(attempt) for attempt in (2, 3, 4)] == delays


def test_jitter_spreads_delays_by_step_within_its_bounds() -> None:
    policy = RetryPolicy(1, delay=10, jitter=Jitter.FULL)
    spread = {policy.delay_before(2, f"step-{i}") for i in range(20)}
    assert len(spread) > 10 and all(0 <= d <= 10 for d in spread)
    plus_minus = RetryPolicy(1, delay=10, jitter=Jitter.PLUS_MINUS)
    assert all(0 <= plus_minus.delay_before(2, f"s{i}") <= 20 for i in range(20))
    with pytest.raises(DefinitionError, match="need a delay"):
        RetryPolicy(1, jitter=Jitter.FULL)


def test_resources_are_set_up_nested_first_and_torn_down_after_the_step() -> None:
    calls: list[str] = []

    class Connection(ConfigurableResource):
        url: str

        def setup_for_execution(self, context: Any) -> None:
            calls.append(f"connect {self.url}")

        def teardown_after_execution(self, context: Any) -> None:
            calls.append("disconnect")

    class Client(ConfigurableResource):
        connection: Connection

        def setup_for_execution(self, context: Any) -> None:
            calls.append("client")

    @asset
    def orders(client: Client) -> str:
        calls.append("asset")
        return client.connection.url

    defs = Definitions(
        assets=[orders], resources={"client": Client(connection=Connection(url="db"))}
    )
    assert materialize(defs).output_for("orders") == "db"
    assert calls == ["connect db", "client", "asset", "disconnect"]
    override = {"resources": {"client": {"config": {"connection": Connection(url="other")}}}}
    assert materialize(defs, run_config=override).output_for("orders") == "other"


def test_an_old_style_resource_function_may_yield_and_clean_up() -> None:
    closed: list[bool] = []

    @resource(config_schema={"name": str})
    def greeter(init_context: Any) -> Any:
        yield f"hello {init_context.resource_config['name']}"
        closed.append(True)

    @asset(required_resource_keys={"greeter"})
    def greeting(context: AssetExecutionContext) -> str:
        return str(context.resources.greeter)

    defs = Definitions(
        assets=[greeting],
        resources={"greeter": greeter, "unused": ResourceDefinition.hardcoded_resource(1)},
    )
    config = {"resources": {"greeter": {"config": {"name": "ada"}}}}
    assert materialize(defs, run_config=config).output_for("greeting") == "hello ada"
    assert closed == [True]


def test_assets_store_through_the_io_manager_their_key_names(tmp_path: Path) -> None:
    class TextIO(UPathIOManager):
        extension = ".txt"

        def dump_to_path(self, context: OutputContext, obj: Any, path: Any) -> None:
            path.write_text(str(obj))

        def load_from_path(self, context: InputContext, path: Any) -> Any:
            return int(path.read_text())

    class Doubling(ConfigurableIOManager):
        def handle_output(self, context: Any, obj: Any) -> None:
            stored[context.asset_key] = obj * 2

        def load_input(self, context: Any) -> Any:
            return stored[context.asset_key]

    stored: dict[AssetKey, Any] = {}

    @asset(io_manager_key="files")
    def seven() -> int:
        return 7

    @asset
    def eight(seven: int) -> int:
        return seven + 1

    defs = Definitions(
        assets=[seven, eight], resources={"files": TextIO(tmp_path), "io_manager": Doubling()}
    )
    materialize(defs)
    assert (tmp_path / "seven" / "__all__.txt").read_text() == "7"
    assert stored == {AssetKey("eight"): 16}
    with pytest.raises(DefinitionError, match="io_manager_key 'nope'"):
        Definitions(assets=[asset(io_manager_key="nope", name="one")(lambda: 1)])


def test_an_asset_function_can_be_called_directly_with_a_built_context() -> None:
    class Limit(Config):
        n: int = 2

    @asset
    def numbers(context: AssetExecutionContext, config: Limit) -> list[int]:
        return [context.retry_number] * config.n + [context.resources.offset]

    context = build_asset_context(resources={"offset": 9}, retry_number=1)
    assert numbers(context, Limit(n=3)) == [1, 1, 1, 9]


def test_selections_combine_with_or_and_minus() -> None:
    @asset(group_name="raw")
    def a() -> int:
        return 1

    @asset(group_name="raw", tags={"pii": "yes"})
    def b(a: int) -> int:
        return a

    @asset
    def c(b: int) -> int:
        return b

    defs = Definitions(
        assets=[a, b, c],
        jobs=[
            define_asset_job("down", AssetSelection.assets(a).downstream(1)),
            define_asset_job("tagged", AssetSelection.tag("pii", "yes").upstream()),
            define_asset_job("both", AssetSelection.groups("raw") & AssetSelection.keys("b", "c")),
            define_asset_job("rest", AssetSelection.all() - AssetSelection.groups("raw")),
        ],
        schedules=[
            ScheduleDefinition(job=define_asset_job("nightly", "c"), cron_schedule="@daily")
        ],
    )
    keys = {name: [k.to_string() for k in job.keys] for name, job in defs.jobs.items()}
    assert keys == {
        "down": ["a", "b"],
        "tagged": ["a", "b"],
        "both": ["b"],
        "rest": ["c"],
        "nightly": ["c"],
    }
    assert defs.schedules["nightly-schedule"].selection == "c"
    with pytest.raises(DefinitionError, match="job 'empty' selects no assets"):
        Definitions(assets=[a], jobs=[define_asset_job("empty", AssetSelection.groups("none"))])
