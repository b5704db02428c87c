"""Checks a Materialization's `spec.runConfig` against the config schemas compiled into
its AssetGraph, without the user's code: the operator refuses a run whose config names an
unknown asset, an unknown field, misses a required one or has a value of the wrong JSON
type, before any pod starts. (The step checks it again with the Config class itself.)

It understands the part of JSON schema that pydantic writes for a Config: objects with
properties, required, additionalProperties false, the scalar types, arrays, enums,
`$ref` into `$defs` and nullable `anyOf`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["run_config_problems"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def run_config_problems(
    run_config: Mapping[str, Any] | None, schemas: Mapping[str, Mapping[str, Any] | None]
) -> list[str]:
    """What is wrong with `run_config`; `schemas` maps each asset's names (its key and
    Dagster's op name) to its config schema (None: it takes no config)."""
    if not run_config:
        return []
    problems = [f"unknown section '{s}'" for s in run_config if s not in ("ops", "resources")]
    ops = run_config.get("ops") or {}
    if not isinstance(ops, Mapping):
        return [*problems, "ops must be a mapping"]
    for name, entry in ops.items():
        if name not in schemas:
            problems.append(f"ops.{name}: no such asset in the graph")
            continue
        schema = schemas[name]
        values = entry.get("config", entry) if isinstance(entry, Mapping) else entry
        if schema is None:
            problems.append(f"ops.{name}: the asset takes no config")
            continue
        problems += _check(values, schema, schema.get("$defs") or {}, f"ops.{name}.config")
    return problems


def _check(value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any], where: str) -> list[str]:
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return _check(value, target, defs, where) if isinstance(target, Mapping) else []
    if "anyOf" in schema:
        choices: Sequence[Any] = schema["anyOf"]
        if any(not _check(value, c, defs, where) for c in choices if isinstance(c, Mapping)):
            return []
        return [f"{where}: {value!r} matches none of the allowed types"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {', '.join(map(repr, schema['enum']))}"]
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        ok = isinstance(value, _TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
        if not ok:
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if kind == "object" and isinstance(value, Mapping):
        properties = schema.get("properties") or {}
        problems = [
            f"{where}.{name}: required"
            for name in schema.get("required") or ()
            if name not in value
        ]
        for name, item in value.items():
            if name in properties:
                problems += _check(item, properties[name], defs, f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}.{name}: unknown field")
        return problems
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [
            p
            for i, v in enumerate(value)
            for p in _check(v, schema["items"], defs, f"{where}[{i}]")
        ]
    return []
