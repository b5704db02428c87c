"""The Kubernetes object plumbing kasset reads and writes: a lean ObjectMeta and Conditions.

ObjectMeta is what the operator needs from real API objects, not all of metav1; extra fields
are kept so that a parsed object dumps back without losing them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, ConfigDict, Field

from kasset.resources.base import KassetModel

__all__ = ["Condition", "ConditionStatus", "ObjectMeta", "OwnerReference"]


class OwnerReference(KassetModel):
    """An object this one belongs to; deleting the owner garbage-collects this object."""

    model_config = ConfigDict(extra="allow")

    api_version: str = Field(description="API version of the owner.")
    kind: str = Field(description="Kind of the owner.")
    name: str = Field(description="Name of the owner.")
    uid: str = Field(description="UID of the owner.")
    controller: bool | None = Field(None, description="Whether the owner is the controller.")
    block_owner_deletion: bool | None = Field(
        None, description="Whether foreground deletion of the owner waits for this object."
    )


class ObjectMeta(KassetModel):
    """The metadata fields kasset uses; other metav1.ObjectMeta fields are carried along."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(None, description="Object name, unique in its namespace.")
    generate_name: str | None = Field(None, description="Name prefix when name is empty.")
    namespace: str | None = Field(None, description="Namespace of the object.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations.")
    uid: str | None = Field(None, description="Unique id assigned by the API server.")
    generation: int | None = Field(None, description="Spec generation, set by the server.")
    resource_version: str | None = Field(None, description="Version for optimistic locking.")
    owner_references: list[OwnerReference] = Field(
        default_factory=list, description="Objects this one belongs to."
    )
    creation_timestamp: AwareDatetime | None = Field(None, description="When it was created.")
    deletion_timestamp: AwareDatetime | None = Field(
        None, description="When deletion was requested; set while finalizers run."
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(KassetModel):
    """An observation of one aspect of the object, as in metav1.Condition."""

    type: str = Field(
        description="Condition type, e.g. Ready or Invalid.",
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        max_length=316,
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str | None = Field(
        None,
        description="CamelCase reason for the last transition, e.g. CycleDetected.",
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        max_length=1024,
    )
    message: str | None = Field(
        None, description="Human-readable details of the last transition.", max_length=32768
    )
    last_transition_time: AwareDatetime | None = Field(
        None, description="When the status last changed."
    )
    observed_generation: int | None = Field(
        None, description="The metadata.generation this condition was computed from.", ge=0
    )
