from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kasset.resources import (
    API_VERSION,
    AssetGraphResource,
    AssetResource,
    MaterializationResource,
)
from kasset.resources.base import cel

from .examples import ASSET_GRAPH, MATERIALIZATION, copy


class ReadOnlyView(Mapping[str, Any]):
    """Like the Mapping views client libraries (kopf) hand out."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return ReadOnlyView(value) if isinstance(value, dict) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_every_resource_model_defaults_to_the_served_api_version() -> None:
    for model in (AssetGraphResource, AssetResource, MaterializationResource):
        assert model.model_fields["api_version"].default == API_VERSION


def test_from_dict_accepts_read_only_mapping_views() -> None:
    graph = AssetGraphResource.from_dict(ReadOnlyView(ASSET_GRAPH))
    assert graph.spec.assets[1].checks[0].name == "has_rows"


def test_attributes_are_snake_case_and_the_wire_is_camel_case() -> None:
    run = MaterializationResource.from_dict(MATERIALIZATION)
    assert run.spec.max_parallel == 4
    assert run.to_dict()["spec"]["maxParallel"] == 4


def test_models_accept_python_names_too() -> None:
    run = MaterializationResource.model_validate(
        {"metadata": {"name": "r"}, "spec": {"graph": "demo", "max_parallel": 2}}
    )
    assert run.spec.max_parallel == 2


def test_unknown_fields_from_a_newer_kasset_are_ignored() -> None:
    body = copy(MATERIALIZATION)
    body["spec"]["priority"] = "high"
    body["status"]["steps"][0]["resourceUsage"] = {"cpu": "1"}
    run = MaterializationResource.from_dict(body)
    assert "priority" not in run.to_dict()["spec"]


def test_to_dict_drops_nulls() -> None:
    run = MaterializationResource.from_dict(MATERIALIZATION)
    assert "ttlSecondsAfterFinished" not in run.to_dict()["spec"]


def test_cel_helper_keeps_the_field_path_when_given() -> None:
    rules = cel(("self.a", "a"), ("self.b", "b", ".b"))["x-kubernetes-validations"]
    assert rules == [
        {"rule": "self.a", "message": "a"},
        {"rule": "self.b", "message": "b", "fieldPath": ".b"},
    ]
