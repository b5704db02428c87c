from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kasset.resources import (
    AssetGraphResource,
    AssetGraphSpec,
    CheckSpec,
    CodeLocation,
    GraphAsset,
    NamedPartitionsDefinition,
    ObjectMeta,
    PartitionType,
    Schedule,
    Storage,
)

from .examples import ASSET_GRAPH, copy

ONE_MIB = 1024 * 1024


def test_an_example_graph_round_trips_unchanged() -> None:
    graph = AssetGraphResource.from_dict(ASSET_GRAPH)
    assert AssetGraphResource.from_dict(graph.to_dict()) == graph
    assert graph.spec.defaults.retry_policy.max_retries == 2
    assert graph.spec.schedules[0].timezone == "UTC"


def test_an_asset_finds_its_shared_partitions_definition_by_name() -> None:
    spec = AssetGraphResource.from_dict(ASSET_GRAPH).spec
    raw_orders, by_region = spec.assets
    daily = spec.partitions_of(raw_orders)
    assert daily is not None
    assert (daily.type, daily.start) == (PartitionType.DAILY, "2024-01-01")
    regions = spec.partitions_of(by_region)
    assert regions is not None
    assert regions.keys == ["eu", "us"]
    assert "name" not in regions.to_dict()


def test_an_unpartitioned_asset_has_no_partitions_definition() -> None:
    spec = AssetGraphSpec(image="i", code_location=CodeLocation(module="m"))
    assert spec.partitions_of(GraphAsset(key="a")) is None


def test_a_dangling_partitions_reference_is_a_key_error_naming_the_asset() -> None:
    spec = AssetGraphSpec(image="i", code_location=CodeLocation(module="m"))
    with pytest.raises(KeyError, match="raw/orders"):
        spec.partitions_of(GraphAsset(key="raw/orders", partitions="weekly"))


def test_empty_collections_of_an_asset_are_left_out_to_save_space() -> None:
    assert GraphAsset(key="a").to_dict() == {"key": "a", "group": "default"}


@pytest.mark.parametrize("key", ["raw/orders", "a", "a.b/c-d/_e", "Raw/Orders2"])
def test_asset_keys_are_slash_separated_words(key: str) -> None:
    GraphAsset(key=key)


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "a b", "a[1]", "-a"])
def test_malformed_asset_keys_are_rejected(key: str) -> None:
    with pytest.raises(ValidationError):
        GraphAsset(key=key)


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/15 * * * *", "0 0 1 JAN MON", "@daily"])
def test_cron_accepts_five_fields_or_a_macro(cron: str) -> None:
    Schedule(name="s", cron=cron)


@pytest.mark.parametrize("cron", ["0 2 * *", "* * * * * * *", "@sometimes", "daily"])
def test_cron_rejects_other_shapes(cron: str) -> None:
    with pytest.raises(ValidationError):
        Schedule(name="s", cron=cron)


def test_max_parallel_is_bounded() -> None:
    body = copy(ASSET_GRAPH)
    body["spec"]["maxParallel"] = 1001
    with pytest.raises(ValidationError):
        AssetGraphResource.from_dict(body)


def test_storage_defaults_to_the_conventional_mount() -> None:
    assert Storage().uri == "file:///var/lib/kasset/storage"


def test_a_graph_of_5000_typical_assets_serialises_under_1_mib() -> None:
    assets = [
        GraphAsset(
            key=f"analytics/orders_rollup_{i:04d}",
            deps=[f"analytics/orders_rollup_{j:04d}" for j in range(max(0, i - 2), i)],
            group="analytics",
            tags={"team": "data"} if i % 2 else {},
            code_version="3",
            description="Orders per customer and day." if i % 5 == 0 else None,
            partitions="daily" if i % 2 else None,
            checks=[CheckSpec(name="has_rows", blocking=True)] if i % 5 == 0 else [],
        )
        for i in range(5000)
    ]
    graph = AssetGraphResource(
        metadata=ObjectMeta(name="analytics"),
        spec=AssetGraphSpec(
            image="registry.example.com/team/analytics:1.2.3",
            code_location=CodeLocation(module="analytics.definitions"),
            partitions_definitions=[
                NamedPartitionsDefinition(
                    name="daily", type=PartitionType.DAILY, start="2024-01-01"
                )
            ],
            assets=assets,
        ),
    )
    size = len(json.dumps(graph.to_dict(), separators=(",", ":")))
    assert size < ONE_MIB, size
