"""@asset: the decorator forms, keys, inputs, deps, context, and mistakes named early."""

from __future__ import annotations

import pytest

from kasset import AssetExecutionContext, AssetIn, AssetKey, Definitions, RetryPolicy, asset
from kasset.errors import DefinitionError


def test_bare_decorator_keys_the_asset_by_function_name() -> None:
    @asset
    def orders() -> int:
        return 1

    assert orders.key == AssetKey("orders")
    assert orders() == 1  # calling the definition calls the function
    assert repr(orders) == "<asset orders>"


def test_decorator_with_options_and_empty_parentheses_both_work() -> None:
    @asset()
    def plain() -> None: ...

    @asset(name="renamed", group="raw", tags={"team": "data"}, code_version="3")
    def original() -> None: ...

    assert plain.key == AssetKey("plain")
    assert original.key == AssetKey("renamed")
    assert (original.group, original.tags, original.code_version) == ("raw", {"team": "data"}, "3")


def test_key_prefix_prefixes_the_key_and_the_inferred_upstreams() -> None:
    @asset(key_prefix=["warehouse", "raw"])
    def customers() -> None: ...

    @asset(key_prefix="warehouse")
    def orders() -> None: ...

    @asset(key_prefix=["warehouse", "raw"])
    def joined(customers: object) -> None: ...

    assert customers.key == AssetKey(["warehouse", "raw", "customers"])
    assert orders.key.to_string() == "warehouse/orders"
    defs = Definitions(assets=[customers, orders, joined])
    assert defs.inputs[joined.key].by_param == {"customers": customers.key}


def test_explicit_key_wins_over_name_and_prefix() -> None:
    @asset(key="raw/events")
    def whatever() -> None: ...

    assert whatever.key == AssetKey(["raw", "events"])


def test_ins_maps_a_parameter_to_another_asset() -> None:
    @asset(key="raw/orders")
    def raw_orders() -> None: ...

    @asset(ins={"source": AssetIn("raw/orders")})
    def cleaned(source: object) -> None: ...

    defs = Definitions(assets=[raw_orders, cleaned])
    assert defs.inputs[cleaned.key].by_param == {"source": AssetKey(["raw", "orders"])}
    assert defs.graph.parents(cleaned.key) == [raw_orders.key]


def test_ins_with_key_prefix_resolves_the_parameter_under_that_prefix() -> None:
    @asset(key_prefix="staging")
    def orders() -> None: ...

    @asset(ins={"orders": AssetIn(key_prefix="staging")})
    def report(orders: object) -> None: ...

    defs = Definitions(assets=[orders, report])
    assert defs.inputs[report.key].by_param == {"orders": AssetKey(["staging", "orders"])}


def test_deps_add_an_upstream_that_is_not_loaded() -> None:
    @asset
    def landed() -> None: ...

    @asset(deps=[landed])
    def table() -> None: ...

    defs = Definitions(assets=[landed, table])
    assert table.inputs == ()
    assert defs.graph.parents(table.key) == [landed.key]
    assert defs.inputs[table.key].by_param == {}


def test_context_parameter_is_found_by_name_or_by_annotation() -> None:
    @asset
    def by_name(context) -> None: ...  # type: ignore[no-untyped-def]

    @asset
    def by_annotation(ctx: AssetExecutionContext) -> None: ...

    assert by_name.context_param == "context"
    assert by_annotation.context_param == "ctx"
    assert by_name.inputs == () and by_annotation.inputs == ()


def test_parameters_with_defaults_are_not_upstreams() -> None:
    @asset
    def tuned(limit: int = 10) -> None: ...

    assert tuned.inputs == ()


def test_docstring_becomes_the_description() -> None:
    @asset
    def documented() -> None:
        """Orders cleaned of test accounts."""

    assert documented.description == "Orders cleaned of test accounts."


def test_retry_policy_and_timeout_reach_the_graph() -> None:
    @asset(retry_policy=RetryPolicy(max_retries=2, delay=5), timeout=60)
    def flaky() -> None: ...

    node = Definitions(assets=[flaky]).graph.nodes[flaky.key]
    assert node.retry_policy == RetryPolicy(max_retries=2, delay=5)
    assert node.timeout == 60


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"group": "raw", "group_name": "other"}, "group or group_name"),
        ({"group": "has space"}, "group 'has space'"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"retry_policy": {"max_retries": 1}}, "retry_policy must be a RetryPolicy"),
        ({"tags": {"team": 1}}, "tag 'team' must have a string value"),
        ({"partitions_def": "daily"}, "partitions_def must be a PartitionsDefinition"),
        ({"ins": {"missing": AssetIn("x")}}, "ins names missing"),
    ],
)
def test_bad_options_raise_a_definition_error_naming_the_asset(
    options: dict[str, object], fragment: str
) -> None:
    with pytest.raises(DefinitionError) as raised:

        @asset(**options)  # type: ignore[call-overload]
        def misconfigured(upstream: object) -> None: ...

    assert "asset 'misconfigured'" in str(raised.value)
    assert fragment in str(raised.value)


def test_var_args_are_rejected() -> None:
    with pytest.raises(DefinitionError, match=r"asset 'spread'.*\*args and \*\*kwargs"):

        @asset
        def spread(*inputs: object) -> None: ...


def test_invalid_key_part_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="invalid asset key part"):

        @asset(key="raw/has space")
        def spaced() -> None: ...
