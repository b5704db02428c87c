from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kasset.resources import AssetGraphResource, AssetResource, Condition, ConditionStatus

from .examples import ASSET, ASSET_GRAPH


def test_metadata_fields_kasset_does_not_model_survive_a_round_trip() -> None:
    graph = AssetGraphResource.from_dict(ASSET_GRAPH)
    assert graph.metadata.generation == 3
    assert graph.metadata.creation_timestamp == datetime(2024, 1, 1, tzinfo=UTC)
    assert graph.to_dict()["metadata"]["managedFields"] == [
        {"manager": "kubectl", "operation": "Apply"}
    ]


def test_owner_references_parse() -> None:
    owner = AssetResource.from_dict(ASSET).metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("AssetGraph", "demo", True)


def test_condition_times_serialise_as_rfc3339_utc() -> None:
    condition = Condition(
        type="Ready",
        status=ConditionStatus.TRUE,
        reason="Compiled",
        last_transition_time=datetime(2024, 1, 1, 2, 3, 4, tzinfo=UTC),
    )
    assert condition.to_dict()["lastTransitionTime"] == "2024-01-01T02:03:04Z"


def test_condition_times_must_carry_a_timezone() -> None:
    with pytest.raises(ValidationError):
        Condition(
            type="Ready", status=ConditionStatus.TRUE, last_transition_time=datetime(2024, 1, 1)
        )


def test_condition_reasons_are_camel_case_words() -> None:
    with pytest.raises(ValidationError):
        Condition(type="Ready", status=ConditionStatus.FALSE, reason="cycle detected")
