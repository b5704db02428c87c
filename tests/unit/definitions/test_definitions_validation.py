"""Definitions: whole-graph mistakes fail at import time, with messages naming the assets."""

from __future__ import annotations

import pytest

from kasset import (
    AssetCheckResult,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    asset,
    asset_check,
)
from kasset.errors import CycleError, DefinitionError


@asset
def orders() -> None: ...


@asset
def orders_report(orders: object) -> None: ...


def test_missing_upstream_names_the_asset_and_the_parameter() -> None:
    with pytest.raises(DefinitionError) as raised:
        Definitions(assets=[orders_report])
    message = str(raised.value)
    assert message.startswith("asset 'orders_report' depends on 'orders', which is not defined")


def test_missing_upstream_suggests_a_close_name() -> None:
    @asset
    def order() -> None: ...

    with pytest.raises(DefinitionError, match=r"did you mean 'order'"):
        Definitions(assets=[order, orders_report])


def test_missing_upstream_declared_with_deps_is_reported() -> None:
    @asset(deps=["raw/landing"])
    def loaded() -> None: ...

    with pytest.raises(DefinitionError, match="asset 'loaded' depends on 'raw/landing'"):
        Definitions(assets=[loaded])


def test_duplicate_key_names_both_functions() -> None:
    @asset(name="orders")
    def other_orders() -> None: ...

    with pytest.raises(DefinitionError, match="duplicate asset key 'orders'") as raised:
        Definitions(assets=[orders, other_orders])
    assert "other_orders" in str(raised.value)


def test_cycle_names_its_members_in_dependency_order() -> None:
    @asset
    def a(c: object) -> None: ...

    @asset
    def b(a: object) -> None: ...

    @asset
    def c(b: object) -> None: ...

    with pytest.raises(CycleError) as raised:
        Definitions(assets=[c, b, a])
    assert raised.value.members == ["a", "b", "c"]
    assert str(raised.value) == "the asset graph has a cycle: a -> b -> c -> a"


def test_a_self_loop_is_not_a_cycle_through_checks() -> None:
    @asset_check(asset=orders)
    def non_empty(orders: object) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(assets=[orders], asset_checks=[non_empty])
    assert defs.graph.parents(orders.key) == []


def test_check_of_an_unknown_asset_is_rejected() -> None:
    @asset_check(asset="ordrs")
    def non_empty(value: object) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(DefinitionError) as raised:
        Definitions(assets=[orders], asset_checks=[non_empty])
    assert str(raised.value) == (
        "check 'non_empty' is of asset 'ordrs', which is not defined (did you mean 'orders'?)"
    )


def test_two_checks_with_one_name_on_one_asset_are_rejected() -> None:
    def passing(value: object) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    first = asset_check(asset=orders, name="same")(passing)
    second = asset_check(asset=orders, name="same")(passing)
    with pytest.raises(DefinitionError, match="asset 'orders' has two checks named 'same'"):
        Definitions(assets=[orders], asset_checks=[first, second])


def test_checks_may_be_listed_among_the_assets() -> None:
    @asset_check(asset=orders, blocking=True)
    def non_empty(orders: object) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(assets=[orders, non_empty])
    assert [c.name for c in defs.checks[orders.key]] == ["non_empty"]
    assert defs.graph.nodes[orders.key].checks[0].blocking is True


def test_check_parameters_beyond_the_value_add_upstreams_of_the_asset() -> None:
    @asset
    def reference() -> None: ...

    @asset_check(asset=orders)
    def matches_reference(orders: object, reference: object) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(assets=[orders, reference], asset_checks=[matches_reference])
    assert defs.graph.parents(orders.key) == [reference.key]


def test_incompatible_partitions_are_rejected_naming_both_assets() -> None:
    @asset(partitions_def=DailyPartitionsDefinition(start="2024-01-01"))
    def daily_events() -> None: ...

    @asset(partitions_def=StaticPartitionsDefinition(["eu", "us"]))
    def regional(daily_events: object) -> None: ...

    with pytest.raises(DefinitionError) as raised:
        Definitions(assets=[daily_events, regional])
    assert "asset 'regional'" in str(raised.value)
    assert "'daily_events'" in str(raised.value)


def test_partitioned_downstream_of_unpartitioned_and_fan_in_are_allowed() -> None:
    daily = DailyPartitionsDefinition(start="2024-01-01")

    @asset
    def config() -> None: ...

    @asset(partitions_def=daily)
    def events(config: object) -> None: ...

    @asset(partitions_def=DailyPartitionsDefinition(start="2024-01-01"))
    def sessions(events: object) -> None: ...

    @asset
    def summary(sessions: object) -> None: ...

    defs = Definitions(assets=[config, events, sessions, summary])
    assert defs.graph.order == [AssetKey(k) for k in ("config", "events", "sessions", "summary")]


def test_a_parameter_named_after_a_resource_is_not_an_upstream() -> None:
    @asset
    def uses_client(warehouse: object) -> None: ...

    defs = Definitions(assets=[uses_client], resources={"warehouse": object()})
    assert defs.inputs[uses_client.key].by_param == {}
    assert defs.inputs[uses_client.key].resource_params == ("warehouse",)


def test_an_ambiguous_last_name_must_be_spelled_out() -> None:
    @asset(key_prefix="eu")
    def sales() -> None: ...

    @asset(key_prefix="us")
    def sales_us() -> None: ...

    @asset(key="us/sales")
    def us_sales() -> None: ...

    @asset
    def total(sales: object) -> None: ...

    with pytest.raises(DefinitionError, match=r"'sales' could be any of eu/sales, us/sales"):
        Definitions(assets=[sales, us_sales, total])


def test_a_unique_last_name_resolves_across_prefixes() -> None:
    @asset(key_prefix="raw")
    def clicks() -> None: ...

    @asset
    def funnel(clicks: object) -> None: ...

    defs = Definitions(assets=[clicks, funnel])
    assert defs.inputs[funnel.key].by_param == {"clicks": AssetKey(["raw", "clicks"])}


def test_schedules_must_select_something_and_have_unique_names() -> None:
    good = ScheduleDefinition(name="nightly", cron="0 2 * * *", selection="orders")
    Definitions(assets=[orders], schedules=[good])
    with pytest.raises(DefinitionError, match="schedule 'typo': no asset 'ordrs'"):
        typo = ScheduleDefinition(name="typo", cron="0 2 * * *", selection="ordrs")
        Definitions(assets=[orders], schedules=[typo])
    with pytest.raises(DefinitionError, match="duplicate schedule name 'nightly'"):
        Definitions(assets=[orders], schedules=[good, good])


def test_something_that_is_not_an_asset_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="takes @asset functions"):
        Definitions(assets=[print])  # type: ignore[list-item]


def test_get_asset_accepts_a_key_or_a_last_name() -> None:
    defs = Definitions(assets=[orders, orders_report])
    assert defs.get_asset("orders_report") is orders_report
    assert defs.get_asset(AssetKey("orders")) is orders
