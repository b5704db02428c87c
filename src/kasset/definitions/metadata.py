"""Typed metadata values (`MetadataValue.url(...)`, tables, markdown), with Dagster's names.

A value keeps its type from the function to the UI: on the wire a plain string, number,
bool or null stays a JSON scalar, and every other kind travels as `{"type": ..., "value":
...}` (`wire_form`). Plain Python values are typed as Dagster types them (a dict is
JSON, a path is a path, an AssetKey an asset); what Dagster would reject is reported as
its text instead of failing the step.
"""

from __future__ import annotations

import builtins
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from kasset.definitions.keys import AssetKey

__all__ = [
    "TYPED_KINDS",
    "AssetMetadataValue",
    "BoolMetadataValue",
    "FloatMetadataValue",
    "IntMetadataValue",
    "JsonMetadataValue",
    "MarkdownMetadataValue",
    "MetadataValue",
    "NullMetadataValue",
    "PathMetadataValue",
    "TableColumn",
    "TableColumnConstraints",
    "TableConstraints",
    "TableMetadataValue",
    "TableRecord",
    "TableSchema",
    "TableSchemaMetadataValue",
    "TextMetadataValue",
    "TimestampMetadataValue",
    "UrlMetadataValue",
    "normalize_metadata_value",
    "summary_entry",
    "wire_form",
]

TYPED_KINDS = ("url", "path", "json", "md", "table", "table_schema", "timestamp", "asset")
"""The kinds that travel as `{"type", "value"}`; text, numbers, bools and null are scalars."""


class MetadataValue:
    """Base of every typed value, and the constructors Dagster users call:
    `MetadataValue.url("https://...")`, `MetadataValue.md("# Title")`, ..."""

    kind: ClassVar[str] = "text"

    @property
    def value(self) -> Any:
        raise NotImplementedError

    def wire_value(self) -> Any:
        """The JSON form of the value."""
        return self.value

    @staticmethod
    def text(text: str) -> TextMetadataValue:
        return TextMetadataValue(str(text))

    @staticmethod
    def int(value: builtins.int) -> IntMetadataValue:
        return IntMetadataValue(value)

    @staticmethod
    def float(value: builtins.float) -> FloatMetadataValue:
        return FloatMetadataValue(value)

    @staticmethod
    def bool(value: builtins.bool) -> BoolMetadataValue:
        return BoolMetadataValue(value)

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        return UrlMetadataValue(str(url))

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        return PathMetadataValue(os.fspath(path))

    @staticmethod
    def notebook(path: str | os.PathLike[str]) -> PathMetadataValue:
        return PathMetadataValue(os.fspath(path))

    @staticmethod
    def json(data: Mapping[str, Any] | Sequence[Any]) -> JsonMetadataValue:
        return JsonMetadataValue(data)

    @staticmethod
    def md(data: str) -> MarkdownMetadataValue:
        return MarkdownMetadataValue(str(data))

    @staticmethod
    def table(
        records: Sequence[TableRecord], schema: TableSchema | None = None
    ) -> TableMetadataValue:
        return TableMetadataValue(list(records), schema)

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("MetadataValue.timestamp needs a timezone-aware datetime")
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(builtins.float(value))

    @staticmethod
    def asset(asset_key: AssetKey | str | Sequence[str]) -> AssetMetadataValue:
        return AssetMetadataValue(AssetKey.from_coercible(asset_key))

    @staticmethod
    def null() -> NullMetadataValue:
        return NullMetadataValue()


@dataclass(frozen=True)
class TextMetadataValue(MetadataValue):
    text_value: str
    kind: ClassVar[str] = "text"

    @property
    def value(self) -> str:
        return self.text_value


@dataclass(frozen=True)
class IntMetadataValue(MetadataValue):
    int_value: int
    kind: ClassVar[str] = "int"

    @property
    def value(self) -> int:
        return self.int_value


@dataclass(frozen=True)
class FloatMetadataValue(MetadataValue):
    float_value: float
    kind: ClassVar[str] = "float"

    @property
    def value(self) -> float:
        return self.float_value


@dataclass(frozen=True)
class BoolMetadataValue(MetadataValue):
    bool_value: bool
    kind: ClassVar[str] = "bool"

    @property
    def value(self) -> bool:
        return self.bool_value


@dataclass(frozen=True)
class NullMetadataValue(MetadataValue):
    kind: ClassVar[str] = "null"

    @property
    def value(self) -> None:
        return None


@dataclass(frozen=True)
class UrlMetadataValue(MetadataValue):
    url: str  # type: ignore[assignment]  # Dagster's attribute, over the constructor
    kind: ClassVar[str] = "url"

    @property
    def value(self) -> str:
        return self.url


@dataclass(frozen=True)
class PathMetadataValue(MetadataValue):
    path: str  # type: ignore[assignment]  # Dagster's attribute, over the constructor
    kind: ClassVar[str] = "path"

    @property
    def value(self) -> str:
        return self.path


@dataclass(frozen=True)
class JsonMetadataValue(MetadataValue):
    data: Mapping[str, Any] | Sequence[Any]
    kind: ClassVar[str] = "json"

    @property
    def value(self) -> Any:
        return self.data

    def wire_value(self) -> Any:
        return json.loads(json.dumps(self.data, default=str))


@dataclass(frozen=True)
class MarkdownMetadataValue(MetadataValue):
    md_str: str
    kind: ClassVar[str] = "md"

    @property
    def value(self) -> str:
        return self.md_str


@dataclass(frozen=True)
class TimestampMetadataValue(MetadataValue):
    """Seconds since the epoch (UTC)."""

    timestamp_value: float
    kind: ClassVar[str] = "timestamp"

    @property
    def value(self) -> float:
        return self.timestamp_value


@dataclass(frozen=True)
class AssetMetadataValue(MetadataValue):
    asset_key: AssetKey
    kind: ClassVar[str] = "asset"

    @property
    def value(self) -> AssetKey:
        return self.asset_key

    def wire_value(self) -> str:
        return self.asset_key.to_string()


@dataclass(frozen=True)
class TableColumnConstraints:
    nullable: bool = True
    unique: bool = False
    other: Sequence[str] = ()


@dataclass(frozen=True)
class TableConstraints:
    other: Sequence[str] = ()


@dataclass(frozen=True)
class TableColumn:
    """One column of a table: `TableColumn("id", "int", description="primary key")`."""

    name: str
    type: str = "string"
    description: str | None = None
    constraints: TableColumnConstraints = field(default_factory=TableColumnConstraints)
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.description:
            wire["description"] = self.description
        if not self.constraints.nullable:
            wire["nullable"] = False
        if self.constraints.unique:
            wire["unique"] = True
        return wire


@dataclass(frozen=True)
class TableSchema:
    """The columns of a table: `TableSchema(columns=[TableColumn("id", "int")])`."""

    columns: Sequence[TableColumn]
    constraints: TableConstraints = field(default_factory=TableConstraints)

    def to_wire(self) -> dict[str, Any]:
        return {"columns": [column.to_wire() for column in self.columns]}


class TableRecord:
    """One row of a table: `TableRecord({"id": 1, "name": "a"})` (scalars only)."""

    def __init__(self, data: Mapping[str, Any] | None = None, **columns: Any) -> None:
        self.data: dict[str, Any] = {**(data or {}), **columns}
        for name, value in self.data.items():
            if not (value is None or isinstance(value, str | int | float | bool)):
                raise ValueError(
                    f"TableRecord column {name!r} holds a {type(value).__name__}: "
                    "only strings, numbers, bools and None"
                )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TableRecord) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]  # holds a dict: unhashable, like it

    def __repr__(self) -> str:
        return f"TableRecord({self.data!r})"


@dataclass(frozen=True)
class TableMetadataValue(MetadataValue):
    records: Sequence[TableRecord]
    schema: TableSchema | None = None
    kind: ClassVar[str] = "table"

    @property
    def value(self) -> TableMetadataValue:
        return self

    def wire_value(self) -> dict[str, Any]:
        schema = self.schema or _inferred_schema(self.records)
        return {
            "schema": schema.to_wire(),
            "records": [{k: _finite(v) for k, v in r.data.items()} for r in self.records],
        }


@dataclass(frozen=True)
class TableSchemaMetadataValue(MetadataValue):
    schema: TableSchema
    kind: ClassVar[str] = "table_schema"

    @property
    def value(self) -> TableSchema:
        return self.schema

    def wire_value(self) -> dict[str, Any]:
        return self.schema.to_wire()


def _inferred_schema(records: Sequence[TableRecord]) -> TableSchema:
    names = dict.fromkeys(name for record in records for name in record.data)
    return TableSchema([TableColumn(name) for name in names])


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def normalize_metadata_value(value: Any) -> MetadataValue | Any:
    """A plain Python value typed as Dagster types it; a MetadataValue as it is; anything
    else unchanged (reported as its text)."""
    if isinstance(value, MetadataValue):
        return value
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, AssetKey):
        return AssetMetadataValue(value)
    if isinstance(value, os.PathLike):
        return PathMetadataValue(os.fspath(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return TimestampMetadataValue(value.timestamp())
    if isinstance(value, dict | list):
        return JsonMetadataValue(value)
    return value


def wire_form(value: MetadataValue) -> Any:
    """How a typed value is sent: a scalar for text, numbers, bools and null, else
    `{"type": kind, "value": json}`."""
    if value.kind in TYPED_KINDS:
        return {"type": value.kind, "value": value.wire_value()}
    return value.value


def summary_entry(wire: Any, limit: int = 256) -> tuple[str, str]:
    """(text, kind) of a reported metadata value, for a status field that holds short
    strings: a URL stays a URL (shortened URLs are dropped to their text), a table becomes
    its JSON when that fits, else `N rows`; the kind lets a UI show it properly."""
    if isinstance(wire, Mapping) and wire.get("type") in TYPED_KINDS and "value" in wire:
        kind, value = str(wire["type"]), wire["value"]
        if isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if len(text) > limit:
            if kind == "table" and isinstance(value, Mapping):
                rows = len(value.get("records") or ()) + int(value.get("omittedRecords") or 0)
                return f"{rows} rows", "text"
            return text[: limit - 1] + "…", "text" if kind in ("url", "json", "asset") else kind
        return text, kind
    if isinstance(wire, bool):
        return ("true" if wire else "false"), "bool"
    if isinstance(wire, int):
        return str(wire), "int"
    if isinstance(wire, float):
        return repr(wire), "float"
    if wire is None:
        return "", "null"
    text = wire if isinstance(wire, str) else json.dumps(wire, default=str)
    return (text if len(text) <= limit else text[: limit - 1] + "…"), "text"
