"""RetryPolicy, Resources and ScheduleDefinition validate at construction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kasset import Resources, RetryPolicy, ScheduleDefinition
from kasset.errors import DefinitionError


def test_retry_delays_grow_by_the_backoff_factor() -> None:
    policy = RetryPolicy(max_retries=3, delay=5, backoff=2)
    assert [policy.delay_before(a) for a in (2, 3, 4)] == [5, 10, 20]
    assert policy.spec() == {"maxRetries": 3, "delaySeconds": 5, "backoff": 2}


@pytest.mark.parametrize(
    "kwargs", [{"max_retries": -1}, {"max_retries": 101}, {"delay": -1}, {"backoff": 0.5}]
)
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(DefinitionError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_resources_memory_limit_defaults_to_the_request() -> None:
    assert Resources(cpu="500m", memory="1Gi").spec() == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "1Gi"},
    }
    with pytest.raises(DefinitionError, match="not a Kubernetes quantity"):
        Resources(memory="lots")


def test_schedule_ticks_in_its_time_zone() -> None:
    schedule = ScheduleDefinition(name="nightly", cron="0 2 * * *", timezone="Europe/Berlin")
    ticks = list(schedule.ticks(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)))
    assert ticks == [datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, 1, tzinfo=UTC)]
    assert schedule.next_tick(datetime(2024, 1, 1, tzinfo=UTC)) == ticks[0]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "Nightly"}, "lower-case"),
        ({"name": "n", "cron": "0 2 * *"}, "5 fields"),
        ({"name": "n", "cron": "0 25 * * *"}, "not a valid cron"),
        ({"name": "n", "timezone": "Nowhere/Else"}, "unknown time zone"),
    ],
)
def test_schedule_rejects_bad_names_crons_and_zones(kwargs: dict[str, str], fragment: str) -> None:
    arguments = {"cron": "0 2 * * *", **kwargs}
    with pytest.raises(DefinitionError, match=fragment):
        ScheduleDefinition(**arguments)  # type: ignore[arg-type]
