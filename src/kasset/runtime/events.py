"""The one event schema: what every reporter sends and the operator's ingest endpoint
accepts (`Event.model_json_schema()`), as pydantic models with camelCase JSON names.

Every field is bounded, so a hostile or runaway body has a known worst-case size. The
runtime itself builds `records.EventRecord`s (same shape, no pydantic, fast start-up);
the builders and helpers are re-exported here for convenience.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic import field_validator as _field_validator
from pydantic.alias_generators import to_camel

from kasset.runtime.records import (
    ERROR_TYPE_BLOCKING_CHECK,
    EVENT_TYPES,
    FINAL_EVENT_TYPES,
    MAX_ASSET,
    MAX_CHECK_NAME,
    MAX_DATA_VERSION,
    MAX_ERROR_MESSAGE,
    MAX_ERROR_TYPE,
    MAX_ID,
    MAX_METADATA_ENTRIES,
    MAX_METADATA_KEY,
    MAX_METADATA_VALUE,
    MAX_PARTITION,
    MAX_RUN,
    MAX_STEP,
    MAX_TRACEBACK_BYTES,
    MAX_URI,
    OUTCOME_EVENT_TYPES,
    EventBuilder,
    EventRecord,
    EventType,
    error_payload,
    summarize_metadata,
    truncate_text,
    truncate_traceback,
    utc_now,
)
from kasset.runtime.records import MAX_ATTEMPT as _MAX_ATTEMPT

__all__ = [
    "ERROR_TYPE_BLOCKING_CHECK",
    "EVENT_TYPES",
    "FINAL_EVENT_TYPES",
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_VALUE",
    "MAX_TRACEBACK_BYTES",
    "OUTCOME_EVENT_TYPES",
    "CheckPayload",
    "ErrorPayload",
    "Event",
    "EventBuilder",
    "EventPayload",
    "EventRecord",
    "EventType",
    "error_payload",
    "summarize_metadata",
    "truncate_text",
    "truncate_traceback",
    "utc_now",
]

_Str = StringConstraints
_MetadataValue: TypeAlias = (
    Annotated[str, _Str(max_length=MAX_METADATA_VALUE)] | int | float | bool | None
)
_MetadataKey: TypeAlias = Annotated[str, _Str(min_length=1, max_length=MAX_METADATA_KEY)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class CheckPayload(_Model):
    name: Annotated[str, _Str(min_length=1, max_length=MAX_CHECK_NAME)]
    passed: bool
    severity: Literal["ERROR", "WARN"] = "ERROR"


class ErrorPayload(_Model):
    type: Annotated[str, _Str(min_length=1, max_length=MAX_ERROR_TYPE)]
    message: Annotated[str, _Str(max_length=MAX_ERROR_MESSAGE)] = ""
    traceback: Annotated[str, _Str(max_length=MAX_TRACEBACK_BYTES)] | None = None
    retryable: bool = True
    #: Stopped from outside (SIGTERM: the pod was deleted, evicted, its node drained)
    #: before it finished: not a failure of the code.
    interrupted: bool = False


class EventPayload(_Model):
    metadata: dict[_MetadataKey, _MetadataValue] = Field(
        default_factory=dict, max_length=MAX_METADATA_ENTRIES
    )
    data_version: Annotated[str, _Str(max_length=MAX_DATA_VERSION)] | None = None
    output_uri: Annotated[str, _Str(max_length=MAX_URI)] | None = None
    check: CheckPayload | None = None
    error: ErrorPayload | None = None
    duration_seconds: Annotated[float, Field(ge=0)] | None = None


class Event(_Model):
    """One thing that happened to one attempt of one step. Parse with
    `Event.model_validate_json(...)`; serialise with `to_json()` (camelCase, RFC 3339 UTC
    timestamps)."""

    id: Annotated[str, _Str(min_length=1, max_length=MAX_ID)]
    type: EventType
    run: Annotated[str, _Str(min_length=1, max_length=MAX_RUN)]
    step: Annotated[str, _Str(min_length=1, max_length=MAX_STEP)]
    asset: Annotated[str, _Str(min_length=1, max_length=MAX_ASSET)]
    partition: Annotated[str, _Str(max_length=MAX_PARTITION)] | None = None
    attempt: Annotated[int, Field(ge=1, le=_MAX_ATTEMPT)] = 1
    timestamp: AwareDatetime
    payload: EventPayload = Field(default_factory=EventPayload)

    @_field_validator("timestamp")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def from_record(cls, record: EventRecord) -> Event:
        """The same event as the validated model."""
        return cls.model_validate(record.to_dict())

    def __eq__(self, other: object) -> bool:
        # Two views of one event: equal to the `EventRecord` of the same wire form.
        if isinstance(other, EventRecord):
            return self.to_dict() == other.to_dict()
        return super().__eq__(other)

    __hash__ = _Model.__hash__

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-compatible form (what `to_json` writes, as Python objects)."""
        return self.model_dump(mode="json", by_alias=True)
