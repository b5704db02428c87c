"""How a step runs: compute resources, retries, environment and placement of its pod.

Graph-wide defaults and per-asset overrides share these models; their wire shapes match the
core/v1 fields of the same names, so the pod builder copies them into pods unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from kasset.resources.base import (
    KassetModel,
    LabelValueStr,
    ResourceNameStr,
    cel,
    list_map,
)

__all__ = [
    "EnvVar",
    "EnvVarSource",
    "ExecutionDefaults",
    "KeySelector",
    "ResourceRequirements",
    "RetryPolicy",
    "Toleration",
    "TolerationEffect",
    "TolerationOperator",
]

# Kubernetes resource.Quantity, without a sign: resources are never negative.
QUANTITY_PATTERN = r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
Quantity = Annotated[str, Field(pattern=QUANTITY_PATTERN, max_length=64)]
ResourceList = Annotated[dict[str, Quantity], Field(max_length=16)]
NodeSelector = Annotated[dict[str, LabelValueStr], Field(max_length=32)]
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600


class ResourceRequirements(KassetModel):
    """Compute resources of a step container, as in core/v1 ResourceRequirements."""

    requests: ResourceList | None = Field(
        None, description="Resources the scheduler reserves, e.g. {cpu: 100m, memory: 128Mi}."
    )
    limits: ResourceList | None = Field(
        None, description="Most the container may use, e.g. {memory: 512Mi}."
    )


class RetryPolicy(KassetModel):
    """How a failed step is retried: delay * backoff^(attempt-1) seconds before each retry."""

    max_retries: int = Field(0, description="Retries after the first attempt.", ge=0, le=100)
    delay_seconds: float = Field(0, description="Seconds before the first retry.", ge=0, le=86400)
    backoff: float = Field(
        1.0, description="Factor applied to the delay at each further retry.", ge=1, le=10
    )
    backoff_kind: Literal["LINEAR", "EXPONENTIAL"] | None = Field(
        None, description="Dagster's Backoff: delay x n (LINEAR) or delay x (2^n - 1)."
    )
    jitter: Literal["FULL", "PLUS_MINUS"] | None = Field(
        None, description="Dagster's Jitter: randomness added to each delay."
    )


class KeySelector(KassetModel):
    """A key of a Secret or ConfigMap in the namespace of the run."""

    name: ResourceNameStr = Field(description="Name of the Secret or ConfigMap.")
    key: str = Field(description="Key inside it.", min_length=1, max_length=253)
    optional: bool | None = Field(None, description="Start the pod even if it is missing.")


class EnvVarSource(KassetModel):
    """Where the value of an environment variable comes from."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "has(self.secretKeyRef) != has(self.configMapKeyRef)",
                "valueFrom needs exactly one of secretKeyRef or configMapKeyRef",
            )
        )
    )

    secret_key_ref: KeySelector | None = Field(None, description="A key of a Secret.")
    config_map_key_ref: KeySelector | None = Field(None, description="A key of a ConfigMap.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        if (self.secret_key_ref is None) == (self.config_map_key_ref is None):
            raise ValueError("valueFrom needs exactly one of secretKeyRef or configMapKeyRef")
        return self


class EnvVar(KassetModel):
    """An environment variable of step pods: a literal value or a Secret/ConfigMap key."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            ("!has(self.value) || !has(self.valueFrom)", "set value or valueFrom, not both")
        )
    )

    name: str = Field(
        description="Variable name.", pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$", max_length=256
    )
    value: str | None = Field(None, description="Literal value.", max_length=32768)
    value_from: EnvVarSource | None = Field(None, description="Value read from an object.")

    @model_validator(mode="after")
    def _value_or_source(self) -> Self:
        if self.value is not None and self.value_from is not None:
            raise ValueError("set value or valueFrom, not both")
        return self


class TolerationOperator(StrEnum):
    EXISTS = "Exists"
    EQUAL = "Equal"


class TolerationEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class Toleration(KassetModel):
    """Lets step pods schedule onto nodes with a matching taint, as in core/v1 Toleration."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            (
                "!has(self.operator) || self.operator != 'Exists' || !has(self.value)"
                " || self.value == ''",
                "a toleration with operator Exists matches any value; leave value empty",
            )
        )
    )

    key: str | None = Field(None, description="Taint key; empty matches all keys.", max_length=316)
    operator: TolerationOperator | None = Field(None, description="Exists or Equal (the default).")
    value: LabelValueStr | None = Field(None, description="Taint value for operator Equal.")
    effect: TolerationEffect | None = Field(
        None, description="Taint effect to match; empty matches all effects."
    )
    toleration_seconds: int | None = Field(
        None, description="For NoExecute: how long the pod stays bound after the taint.", ge=0
    )


class ExecutionDefaults(KassetModel):
    """How steps run unless their asset overrides it."""

    resources: ResourceRequirements | None = Field(
        None, description="Compute resources of step containers."
    )
    retry_policy: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retries of failed steps."
    )
    timeout_seconds: int = Field(
        3600,
        description="Seconds a step attempt may run before it is stopped and failed.",
        ge=1,
        le=MAX_TIMEOUT_SECONDS,
    )
    env: list[EnvVar] = Field(
        default_factory=list,
        description="Environment variables of step containers.",
        max_length=64,
        json_schema_extra=list_map("name"),
    )
    node_selector: NodeSelector = Field(
        default_factory=dict, description="Node labels step pods must be scheduled on."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Taints step pods tolerate.", max_length=32
    )
    service_account_name: str = Field(
        "",
        description="ServiceAccount of step pods; empty means the namespace default. Its token"
        " is never mounted: steps need no Kubernetes API access.",
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
        max_length=253,
    )
