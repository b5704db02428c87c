"""What every kasset resource model shares: the API group, the model base, value patterns,
and helpers that attach Kubernetes schema extensions (CEL rules, list types) to models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "API_VERSION",
    "GROUP",
    "MAX_STATUS_METADATA_ENTRIES",
    "MAX_STATUS_METADATA_VALUE",
    "VERSION",
    "AssetKeyStr",
    "DescriptionStr",
    "KassetModel",
    "KassetNameStr",
    "KindInfo",
    "LabelValueStr",
    "MetadataMap",
    "NameStr",
    "PartitionKeyStr",
    "PrinterColumn",
    "ResourceNameStr",
    "StepKeyStr",
    "cel",
    "list_atomic",
    "list_map",
    "list_set",
    "status_metadata",
]

GROUP = "kasset.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

_ASSET_KEY_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
ASSET_KEY_PATTERN = rf"^{_ASSET_KEY_PART}(/{_ASSET_KEY_PART})*$"
ASSET_KEY_MAX_LENGTH = 255
# Dot-separated segments: no ',' '[' ']' or '..', which the step key and the
# partition range syntax (`a..b,c`) use as separators.
_PARTITION_KEY = r"[A-Za-z0-9_:+@-]+(\.[A-Za-z0-9_:+@-]+)*"
PARTITION_KEY_PATTERN = rf"^{_PARTITION_KEY}$"
PARTITION_KEY_MAX_LENGTH = 128
STEP_KEY_PATTERN = rf"^{_ASSET_KEY_PART}(/{_ASSET_KEY_PART})*(\[{_PARTITION_KEY}\])?$"
DNS1123_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"

AssetKeyStr = Annotated[str, Field(pattern=ASSET_KEY_PATTERN, max_length=ASSET_KEY_MAX_LENGTH)]
PartitionKeyStr = Annotated[
    str, Field(pattern=PARTITION_KEY_PATTERN, max_length=PARTITION_KEY_MAX_LENGTH)
]
StepKeyStr = Annotated[
    str,
    Field(pattern=STEP_KEY_PATTERN, max_length=ASSET_KEY_MAX_LENGTH + PARTITION_KEY_MAX_LENGTH + 2),
]
#: A name inside kasset (check, group, schedule): a word with dots and dashes.
NameStr = Annotated[str, Field(pattern=NAME_PATTERN, max_length=128)]
#: The name of a namespaced Kubernetes object (Secret, PVC, ServiceAccount).
ResourceNameStr = Annotated[str, Field(pattern=DNS1123_SUBDOMAIN_PATTERN, max_length=253)]
#: The name of an AssetGraph or a Materialization: also a label value, hence <= 63.
KassetNameStr = Annotated[str, Field(pattern=DNS1123_SUBDOMAIN_PATTERN, max_length=63)]
LabelValueStr = Annotated[str, Field(pattern=LABEL_VALUE_PATTERN, max_length=63)]
DescriptionStr = Annotated[str, Field(max_length=4096)]
#: What a status holds of a step's metadata: at most this many entries ...
MAX_STATUS_METADATA_ENTRIES = 16
#: ... of at most this many characters.
MAX_STATUS_METADATA_VALUE = 256
#: Short metadata summaries; the full metadata travels in events, not in objects.
MetadataMap = Annotated[
    dict[str, Annotated[str, Field(max_length=MAX_STATUS_METADATA_VALUE)]],
    Field(max_length=MAX_STATUS_METADATA_ENTRIES),
]


def status_metadata(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Reported metadata cut to what a status field holds (`MetadataMap`): at most 16
    entries of short strings, the same for the operator and `kasset dev`. A typed entry
    (`{"type": ..., "value": ...}`) shows its value; other values are shown as JSON.

    >>> status_metadata({"rows": 3, "path": {"type": "path", "value": "/x"}, "ok": True})
    {'rows': '3', 'path': '/x', 'ok': 'true'}
    """
    summary: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if len(summary) >= MAX_STATUS_METADATA_ENTRIES:
            break
        shown = value["value"] if isinstance(value, Mapping) and "value" in value else value
        text = shown if isinstance(shown, str) else json.dumps(shown, default=str)
        if len(text) > MAX_STATUS_METADATA_VALUE:
            text = text[: MAX_STATUS_METADATA_VALUE - 1] + "…"
        summary[str(key)[:128]] = text
    return summary


class KassetModel(BaseModel):
    """Base of every resource model: camelCase on the wire, snake_case in Python.

    Unknown fields are ignored, so an operator reading an object written by a newer kasset
    does not crash; the CRD schema prunes unknown fields at admission anyway.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )

    def to_dict(self) -> dict[str, Any]:
        """The object as Kubernetes stores it: camelCase keys, no nulls, JSON types."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_dict(cls, body: Any) -> Self:
        """Parse a Kubernetes body (any mapping, e.g. a kopf Body) into the model."""
        return cls.model_validate(_plain(body))


def _plain(value: Any) -> Any:
    # Client libraries hand out read-only Mapping views; pydantic wants plain dicts.
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def cel(*rules: tuple[str, str] | tuple[str, str, str]) -> dict[str, Any]:
    """``x-kubernetes-validations`` for ``json_schema_extra``: (rule, message[, fieldPath])."""
    validations = []
    for rule in rules:
        entry = {"rule": rule[0], "message": rule[1]}
        if len(rule) == 3:
            entry["fieldPath"] = rule[2]
        validations.append(entry)
    return {"x-kubernetes-validations": validations}


def list_map(*keys: str) -> dict[str, Any]:
    """A list of objects the API server treats as a map: entries unique by ``keys``."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


def list_atomic() -> dict[str, Any]:
    """A list the API server replaces as a whole (no per-entry merge or managedFields)."""
    return {"x-kubernetes-list-type": "atomic"}


def list_set() -> dict[str, Any]:
    """A list of scalars whose entries the API server requires to be unique."""
    return {"x-kubernetes-list-type": "set"}


@dataclass(frozen=True)
class PrinterColumn:
    """One ``kubectl get`` column (``additionalPrinterColumns`` of the CRD)."""

    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0
    format: str | None = None


@dataclass(frozen=True)
class KindInfo:
    """What the CRD of a kind needs beyond the schema of its models."""

    kind: str
    plural: str
    model: type[KassetModel]
    short_names: tuple[str, ...] = ()
    columns: tuple[PrinterColumn, ...] = ()
    #: CEL rules on the whole object (they may read metadata.name).
    root_rules: tuple[tuple[str, str], ...] = ()
    categories: tuple[str, ...] = field(default=("kasset",))

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"
