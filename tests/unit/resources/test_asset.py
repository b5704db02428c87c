from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kasset.naming import asset_object_name
from kasset.resources import AssetHealth, AssetResource, AssetStatus, PartitionType

from .examples import ASSET, copy


def test_an_example_asset_round_trips_unchanged() -> None:
    asset = AssetResource.from_dict(ASSET)
    assert AssetResource.from_dict(asset.to_dict()) == asset
    assert asset.metadata.name == asset_object_name(asset.spec.graph, asset.spec.key)


def test_an_asset_carries_its_partitions_definition_inline() -> None:
    partitions = AssetResource.from_dict(ASSET).spec.partitions
    assert partitions is not None
    assert partitions.type is PartitionType.DAILY


def test_the_latest_materialization_is_typed() -> None:
    status = AssetResource.from_dict(ASSET).status
    assert status is not None
    assert status.health is AssetHealth.FRESH
    assert status.latest is not None
    assert status.latest.time == datetime(2024, 2, 1, 2, 3, tzinfo=UTC)
    assert status.latest.metadata == {"rows": "1200"}


def test_a_new_asset_is_missing() -> None:
    assert AssetStatus().health is AssetHealth.MISSING


def test_metadata_summaries_hold_short_strings_only() -> None:
    body = copy(ASSET)
    body["status"]["latest"]["metadata"] = {"preview": "x" * 257}
    with pytest.raises(ValidationError):
        AssetResource.from_dict(body)


def test_an_unknown_health_is_rejected() -> None:
    body = copy(ASSET)
    body["status"]["health"] = "Great"
    with pytest.raises(ValidationError):
        AssetResource.from_dict(body)
