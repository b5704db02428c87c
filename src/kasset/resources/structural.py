"""Turns a pydantic JSON schema into a structural OpenAPI v3 schema, the dialect of CRDs.

The API server accepts only structural schemas: no $ref, every node typed, no anyOf that
changes the shape. Anything this module does not know how to convert raises, so a model
that cannot be expressed in a CRD fails `make crds` rather than producing a wrong CRD.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["StructuralSchemaError", "structural_schema"]

Schema = dict[str, Any]

# The JSON schema keywords a structural CRD schema may carry (after conversion).
_ALLOWED = frozenset(
    {
        "type",
        "format",
        "description",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "default",
    }
)
_RULES = "x-kubernetes-validations"
# A fixed key order keeps the YAML readable: what a field is, then its constraints, children.
_KEY_ORDER = {
    key: index
    for index, key in enumerate(
        [
            "description",
            "type",
            "format",
            "enum",
            "default",
            "pattern",
            "minLength",
            "maxLength",
            "minimum",
            "exclusiveMinimum",
            "maximum",
            "exclusiveMaximum",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
            "required",
            "properties",
            "items",
            "additionalProperties",
            "x-kubernetes-list-type",
            "x-kubernetes-list-map-keys",
            "x-kubernetes-preserve-unknown-fields",
            "x-kubernetes-validations",
        ]
    )
}
# Dropped without loss: titles are noise in `kubectl explain`.
_DROPPED = frozenset({"title", "examples"})


class StructuralSchemaError(ValueError):
    """A model uses a JSON schema construct that a CRD schema cannot express."""


def structural_schema(model: type[BaseModel], overrides: dict[str, Schema] | None = None) -> Schema:
    """The structural schema of ``model``; ``overrides`` replace top-level properties as is.

    >>> from pydantic import BaseModel
    >>> class Point(BaseModel):
    ...     x: int | None = None
    >>> structural_schema(Point)
    {'type': 'object', 'properties': {'x': {'type': 'integer'}}}
    """
    raw = model.model_json_schema(by_alias=True, mode="validation")
    definitions = raw.pop("$defs", {})
    if overrides:
        raw["properties"] = {**raw.get("properties", {}), **overrides}
        raw["required"] = [name for name in raw.get("required", []) if name not in overrides]
        if not raw["required"]:
            del raw["required"]
    return _convert(raw, definitions, path=model.__name__)


def _convert(node: Schema, definitions: dict[str, Schema], path: str) -> Schema:
    node = _resolve(node, definitions, path)
    result: Schema = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and not _is_scalar(value)):
            continue
        if key == _RULES:
            result[key] = [_ordered_rule(rule) for rule in value]
        elif key.startswith("x-kubernetes-"):
            result[key] = value
        elif key not in _ALLOWED:
            raise StructuralSchemaError(f"{path}: '{key}' has no structural equivalent")
        elif key == "properties":
            result[key] = {
                name: _convert(child, definitions, f"{path}.{name}")
                for name, child in value.items()
            }
        elif key == "items":
            result[key] = _convert(value, definitions, f"{path}[]")
        elif key == "additionalProperties":
            if value is True:
                raise StructuralSchemaError(f"{path}: free-form maps need explicit value types")
            if value is not False:
                result[key] = _convert(value, definitions, f"{path}{{}}")
        elif key == "description":
            result[key] = " ".join(value.split())
        elif key in {"exclusiveMinimum", "exclusiveMaximum"}:
            # JSON schema 2020-12 gives the bound; OpenAPI 3.0 wants minimum + a flag.
            result["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            result[key] = True
        else:
            result[key] = value
    result = {key: result[key] for key in sorted(result, key=_KEY_ORDER.get)}  # type: ignore[arg-type]
    if "type" not in result:
        raise StructuralSchemaError(f"{path}: every node of a structural schema needs a type")
    if result["type"] == "object" and "properties" in result and "additionalProperties" in result:
        raise StructuralSchemaError(f"{path}: properties and additionalProperties are exclusive")
    return result


def _resolve(node: Schema, definitions: dict[str, Schema], path: str) -> Schema:
    """Inline $ref, single-entry allOf and Optional's ``anyOf [X, null]`` into one node.

    Keys next to the reference (a field's description, its list type) win over the
    referenced definition's. ``null`` is dropped rather than made ``nullable``: the API
    server prunes nulls of non-nullable fields, so `end: null` is accepted and stored as
    absent, which keeps CEL ``has()`` meaningful.
    """
    node = dict(node)
    if "$ref" in node:
        name = node.pop("$ref").removeprefix("#/$defs/")
        node = _merge(_resolve(definitions[name], definitions, path), node)
    if "allOf" in node:
        (single,) = node.pop("allOf")
        node = _merge(_resolve(single, definitions, path), node)
    if "anyOf" in node:
        choices = [choice for choice in node.pop("anyOf") if choice != {"type": "null"}]
        if len(choices) != 1:
            raise StructuralSchemaError(f"{path}: a union of several types is not structural")
        node = _merge(_resolve(choices[0], definitions, path), node)
        if node.get("default", 0) is None:
            del node["default"]
    return node


def _merge(target: Schema, referrer: Schema) -> Schema:
    # CEL rules of a type and of the field using it both apply.
    merged = {**target, **referrer}
    rules = target.get(_RULES, []) + referrer.get(_RULES, [])
    if rules:
        merged[_RULES] = rules
    return merged


def _ordered_rule(rule: dict[str, str]) -> dict[str, str]:
    # pydantic sorts the keys of schema extras; a rule reads best rule-first.
    order = ("rule", "message", "messageExpression", "fieldPath", "reason")
    return {key: rule[key] for key in sorted(rule, key=order.index)}


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
