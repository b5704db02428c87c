from __future__ import annotations

import pytest

from kasset.definitions.keys import AssetKey, StepKey
from kasset.runtime.config import RuntimeConfig, UsageError, read_config

ENV = {
    "KASSET_RUN": "run-1",
    "KASSET_STEP": "raw/orders[2024-01-01]",
    "KASSET_ATTEMPT": "2",
    "KASSET_CODE": "pkg.defs:defs",
    "KASSET_STORAGE_URI": "s3://bucket/kasset",
    "KASSET_EVENT_URL": "http://kasset-operator/api/v1/events",
    "KASSET_EVENT_TOKEN": "token",
    "KASSET_EVENT_FILE": "/tmp/events.jsonl",
    "KASSET_TERMINATION_LOG": "/tmp/termination",
    "KASSET_PYTHONPATH": "/app/src:/app/lib",
}


def test_the_environment_says_what_to_run() -> None:
    assert read_config([], ENV) == RuntimeConfig(
        run="run-1",
        step=StepKey(AssetKey(["raw", "orders"]), "2024-01-01"),
        attempt=2,
        code="pkg.defs:defs",
        storage_uri="s3://bucket/kasset",
        event_url="http://kasset-operator/api/v1/events",
        event_token="token",
        event_file="/tmp/events.jsonl",
        termination_log="/tmp/termination",
        python_path=("/app/src", "/app/lib"),
    )


def test_flags_override_the_environment() -> None:
    config = read_config(
        [
            "--run",
            "run-2",
            "--step",
            "other",
            "--attempt",
            "3",
            "--code",
            "m:d",
            "--storage",
            "/data",
            "--event-url",
            "http://x",
            "--event-file",
            "e.jsonl",
        ],
        ENV,
    )
    assert (config.run, config.step.to_string(), config.attempt, config.code) == (
        "run-2",
        "other",
        3,
        "m:d",
    )
    assert (config.storage_uri, config.event_url, config.event_file) == (
        "/data",
        "http://x",
        "e.jsonl",
    )


def test_the_attempt_defaults_to_one_and_empty_values_count_as_unset() -> None:
    env = {"KASSET_RUN": "r", "KASSET_STEP": "a", "KASSET_CODE": "m", "KASSET_EVENT_URL": ""}
    config = read_config([], env)
    assert config.attempt == 1 and config.event_url is None


def test_no_termination_log_is_assumed_outside_a_pod() -> None:
    env = {"KASSET_RUN": "r", "KASSET_STEP": "a", "KASSET_CODE": "m"}
    assert read_config([], env).termination_log is None  # no /dev/termination-log here


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KASSET_STEP": "a", "KASSET_CODE": "m"}, "missing run"),
        ({}, "missing run, step, code"),
        ({"KASSET_RUN": "r", "KASSET_STEP": "a[", "KASSET_CODE": "m"}, "invalid step key"),
        (
            {"KASSET_RUN": "r", "KASSET_STEP": "a", "KASSET_CODE": "m", "KASSET_ATTEMPT": "0"},
            "invalid attempt",
        ),
    ],
)
def test_what_is_missing_or_malformed_is_a_usage_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_config([], env)
