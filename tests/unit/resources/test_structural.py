from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from kasset.resources.base import KindInfo
from kasset.resources.crdgen import KINDS, crd_for
from kasset.resources.structural import StructuralSchemaError, structural_schema

Schema = dict[str, Any]
FORBIDDEN = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "nullable", "title", "const"}


def _nodes(schema: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if "items" in schema:
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def _crd_nodes() -> Iterator[tuple[str, Schema]]:
    for kind in KINDS:
        schema = crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for path, node in _nodes(schema):
            yield f"{kind.kind}{path}", node


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_node_of_every_crd_schema_is_structural(kind: KindInfo) -> None:
    schema = crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _nodes(schema):
        assert "type" in node, path
        assert not FORBIDDEN & node.keys(), (path, FORBIDDEN & node.keys())
        if node["type"] == "object":
            assert not ("properties" in node and "additionalProperties" in node), path
        if node["type"] == "array":
            assert "items" in node, path


def test_metadata_is_left_to_the_api_server() -> None:
    for kind in KINDS:
        schema = crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert schema["properties"]["metadata"] == {"type": "object"}


def test_every_field_has_a_description_for_kubectl_explain() -> None:
    for path, node in _crd_nodes():
        if path.endswith(("[]", "{}", ".metadata")) or path.count(".") == 0:
            continue
        assert node.get("description"), path


def test_every_string_and_list_is_bounded_so_cel_cost_estimates_stay_low() -> None:
    for path, node in _crd_nodes():
        if node["type"] == "string" and "enum" not in node and node.get("format") != "date-time":
            assert "maxLength" in node or path.endswith((".apiVersion", ".kind")), path
        if node["type"] == "array":
            assert "maxItems" in node, path
        if node["type"] == "object" and "additionalProperties" in node:
            assert "maxProperties" in node, path


def test_every_cel_rule_says_what_is_wrong() -> None:
    rules = [rule for _, node in _crd_nodes() for rule in node.get("x-kubernetes-validations", [])]
    assert len(rules) >= 10
    for rule in rules:
        assert rule["message"] and rule["rule"], rule


def test_list_map_keys_are_required_fields_of_the_entries() -> None:
    for path, node in _crd_nodes():
        for key in node.get("x-kubernetes-list-map-keys", []):
            assert key in node["items"].get("required", []), (path, key)


def test_defaults_are_scalars_of_the_node_type() -> None:
    python_types = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    for path, node in _crd_nodes():
        if "default" in node:
            assert isinstance(node["default"], python_types[node["type"]]), path
            if "enum" in node:
                assert node["default"] in node["enum"], path


class Inner(BaseModel):
    """Inner doc."""

    size: int = Field(1, ge=0, description="A size.")


class Outer(BaseModel):
    inner: Inner | None = Field(None, description="Field doc wins.")
    inners: list[Inner] = Field(default_factory=list, max_length=3)
    ratio: float = Field(0.5, gt=0)


def test_references_and_optionals_are_inlined_with_the_field_description() -> None:
    schema = structural_schema(Outer)
    inner = schema["properties"]["inner"]
    assert inner == {
        "description": "Field doc wins.",
        "type": "object",
        "properties": {
            "size": {
                "description": "A size.",
                "type": "integer",
                "default": 1,
                "minimum": 0,
            }
        },
    }
    assert schema["properties"]["inners"]["items"]["description"] == "Inner doc."


def test_exclusive_bounds_become_openapi_3_0_flags() -> None:
    ratio = structural_schema(Outer)["properties"]["ratio"]
    assert (ratio["minimum"], ratio["exclusiveMinimum"]) == (0, True)


def test_unions_of_several_types_are_refused() -> None:
    class Either(BaseModel):
        value: int | str

    with pytest.raises(StructuralSchemaError, match="union"):
        structural_schema(Either)


def test_free_form_maps_are_refused() -> None:
    class Loose(BaseModel):
        data: dict[str, Any]

    with pytest.raises(StructuralSchemaError, match="free-form"):
        structural_schema(Loose)


def test_cel_rules_of_a_type_and_of_the_field_using_it_both_apply() -> None:
    class Typed(BaseModel):
        model_config = {"json_schema_extra": {"x-kubernetes-validations": [{"rule": "a"}]}}
        x: int = 0

    class User(BaseModel):
        typed: Typed = Field(
            default_factory=Typed,
            json_schema_extra={"x-kubernetes-validations": [{"message": "m", "rule": "b"}]},
        )

    rules = structural_schema(User)["properties"]["typed"]["x-kubernetes-validations"]
    assert rules == [{"rule": "a"}, {"rule": "b", "message": "m"}]
