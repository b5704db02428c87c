from __future__ import annotations

import pytest
from pydantic import ValidationError

from kasset.resources import (
    EnvVar,
    ExecutionDefaults,
    ResourceRequirements,
    RetryPolicy,
    Toleration,
    TolerationOperator,
)


def test_defaults_are_what_a_graph_without_defaults_gets() -> None:
    defaults = ExecutionDefaults()
    assert defaults.retry_policy == RetryPolicy(max_retries=0, delay_seconds=0, backoff=1.0)
    assert defaults.timeout_seconds == 3600
    assert defaults.service_account_name == ""


@pytest.mark.parametrize("quantity", ["100m", "1", "0.5", "1.5Gi", "128Mi", "1e3", "2k"])
def test_resource_quantities_in_kubernetes_notation_are_accepted(quantity: str) -> None:
    ResourceRequirements(requests={"cpu": quantity})


@pytest.mark.parametrize("quantity", ["-1", "1 Gi", "lots", "1GB", ""])
def test_malformed_resource_quantities_are_rejected(quantity: str) -> None:
    with pytest.raises(ValidationError):
        ResourceRequirements(requests={"cpu": quantity})


def test_retry_backoff_below_one_is_rejected() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(backoff=0.5)


def test_retry_count_is_bounded() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(max_retries=101)


def test_env_var_dumps_in_the_core_v1_shape() -> None:
    env = EnvVar.model_validate(
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}
    )
    assert env.to_dict() == {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}},
    }


def test_env_var_takes_a_value_or_a_source_not_both() -> None:
    with pytest.raises(ValidationError, match="not both"):
        EnvVar.model_validate(
            {"name": "X", "value": "1", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        )


def test_env_var_source_names_exactly_one_object() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        EnvVar.model_validate({"name": "X", "valueFrom": {}})


def test_toleration_dumps_in_the_core_v1_shape() -> None:
    toleration = Toleration(key="gpu", operator=TolerationOperator.EXISTS, effect="NoSchedule")
    assert toleration.to_dict() == {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
