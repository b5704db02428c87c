"""The event ingest endpoint: authentication, bounds, dedupe and what reaches the sink."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from kasset.operator.ingest.endpoint import EVENTS_PATH, RecentIds, build_ingest_router
from kasset.operator.model.auth import step_token
from kasset.operator.telemetry.metrics import OperatorMetrics
from kasset.runtime.events import Event, EventBuilder

SECRET = b"test-secret"
NAMESPACE = "team-a"
RUN = "daily-2024-01-01"
STEP = "raw/orders[2024-01-01]"


class FakeSink:
    def __init__(self, runs: dict[str, str] | None = None) -> None:
        self.runs = {RUN: NAMESPACE} if runs is None else runs
        self.is_ready = True
        self.fail_with: Exception | None = None
        self.submitted: list[tuple[str, str, list[Event]]] = []

    def ready(self) -> bool:
        return self.is_ready

    def namespace_of(self, run: str) -> str | None:
        return self.runs.get(run)

    async def submit_events(self, namespace: str, run: str, events: list[Event]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.submitted.append((namespace, run, events))


def builder(step: str = STEP, attempt: int = 1, run: str = RUN) -> EventBuilder:
    return EventBuilder(run, step, "raw/orders", "2024-01-01", attempt)


def token(step: str = STEP, attempt: int = 1, run: str = RUN, namespace: str = NAMESPACE) -> str:
    return step_token(SECRET, namespace, run, step, attempt)


def auth(value: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {value if value is not None else token()}"}


def batch(*events: Event) -> dict[str, Any]:
    return {"events": [event.to_dict() for event in events]}


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def metrics() -> OperatorMetrics:
    return OperatorMetrics(CollectorRegistry())


@pytest.fixture
def client(sink: FakeSink, metrics: OperatorMetrics) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(
        build_ingest_router(sink, SECRET, metrics, max_body_bytes=64 * 1024, max_events=10)
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_accepts_a_batch_and_hands_the_parsed_events_to_the_sink(
    client: TestClient, sink: FakeSink
) -> None:
    steps = builder()
    started, succeeded = steps.started(), steps.succeeded(duration_seconds=0.5)

    response = client.post(EVENTS_PATH, json=batch(started, succeeded), headers=auth())

    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert sink.submitted == [(NAMESPACE, RUN, [started, succeeded])]


def test_a_replayed_batch_is_accepted_once(client: TestClient, sink: FakeSink) -> None:
    events = batch(builder().started())

    first = client.post(EVENTS_PATH, json=events, headers=auth())
    again = client.post(EVENTS_PATH, json=events, headers=auth())

    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert len(sink.submitted) == 1


def test_an_event_repeated_within_a_batch_counts_once(client: TestClient, sink: FakeSink) -> None:
    started = builder().started()

    response = client.post(EVENTS_PATH, json=batch(started, started), headers=auth())

    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert sink.submitted[0][2] == [started]


def test_a_failed_submit_is_503_and_the_retry_gets_through(
    client: TestClient, sink: FakeSink
) -> None:
    events = batch(builder().started())
    sink.fail_with = RuntimeError("API server unavailable")

    failed = client.post(EVENTS_PATH, json=events, headers=auth())
    sink.fail_with = None
    retried = client.post(EVENTS_PATH, json=events, headers=auth())

    assert failed.status_code == 503
    assert failed.headers["retry-after"]
    assert retried.json() == {"accepted": 1, "duplicates": 0}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer  "},
        {"Authorization": "Bearer a b"},
    ],
    ids=["none", "empty", "basic", "no-token", "blank-token", "two-tokens"],
)
def test_a_missing_or_malformed_authorization_is_401_with_a_bearer_challenge(
    client: TestClient, sink: FakeSink, headers: dict[str, str]
) -> None:
    response = client.post(EVENTS_PATH, json=batch(builder().started()), headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert sink.submitted == []


@pytest.mark.parametrize(
    "wrong",
    [
        "not-a-token",
        token(step="raw/customers"),
        token(attempt=2),
        token(namespace="team-b"),
        step_token(b"another-secret", NAMESPACE, RUN, STEP, 1),
    ],
    ids=["garbage", "other-step", "other-attempt", "other-namespace", "other-secret"],
)
def test_a_token_of_anything_but_this_step_attempt_is_401(
    client: TestClient, sink: FakeSink, wrong: str
) -> None:
    response = client.post(EVENTS_PATH, json=batch(builder().started()), headers=auth(wrong))

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert sink.submitted == []


@pytest.mark.parametrize(
    "other",
    [builder(step="raw/customers"), builder(attempt=2), builder(run="other-run")],
    ids=["step", "attempt", "run"],
)
def test_events_of_another_step_attempt_in_the_batch_are_403(
    client: TestClient, sink: FakeSink, other: EventBuilder
) -> None:
    sink.runs["other-run"] = NAMESPACE
    events = batch(builder().started(), other.started())

    response = client.post(EVENTS_PATH, json=events, headers=auth())

    assert response.status_code == 403
    assert sink.submitted == []


def test_an_unknown_run_is_404(client: TestClient, sink: FakeSink) -> None:
    sink.runs.clear()

    response = client.post(EVENTS_PATH, json=batch(builder().started()), headers=auth())

    assert response.status_code == 404
    assert RUN in response.json()["detail"]


def test_while_the_operator_is_not_ready_it_is_503_with_retry_after(
    client: TestClient, sink: FakeSink
) -> None:
    sink.is_ready = False
    sink.runs.clear()  # runs are not restored yet: no 404 before ready

    response = client.post(EVENTS_PATH, json=batch(builder().started()), headers=auth())

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert sink.submitted == []


def _oversized_body() -> bytes:
    steps = builder()
    events = [
        steps.materialized(metadata={f"k{i}": "x" * 1000 for i in range(60)}) for _ in range(2)
    ]
    body = json.dumps(batch(*events)).encode()
    assert len(body) > 64 * 1024
    return body


def test_a_body_over_the_limit_is_413_by_its_content_length(
    client: TestClient, sink: FakeSink
) -> None:
    headers = {**auth(), "Content-Type": "application/json"}

    response = client.post(EVENTS_PATH, content=_oversized_body(), headers=headers)

    assert response.status_code == 413
    assert sink.submitted == []


def test_a_streamed_body_over_the_limit_is_413_without_a_content_length(
    client: TestClient, sink: FakeSink
) -> None:
    body = _oversized_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    headers = {**auth(), "Content-Type": "application/json"}
    response = client.post(EVENTS_PATH, content=chunks(), headers=headers)

    assert response.status_code == 413
    assert sink.submitted == []


def test_a_content_length_understating_the_body_does_not_lift_the_limit(
    client: TestClient, sink: FakeSink
) -> None:
    body = _oversized_body()

    def chunks() -> Iterator[bytes]:
        yield body

    headers = {**auth(), "Content-Type": "application/json", "Content-Length": "100"}
    response = client.post(EVENTS_PATH, content=chunks(), headers=headers)

    assert response.status_code == 413
    assert sink.submitted == []


def test_more_events_than_the_batch_limit_is_413(client: TestClient, sink: FakeSink) -> None:
    steps = builder()

    response = client.post(
        EVENTS_PATH, json=batch(*(steps.started() for _ in range(11))), headers=auth()
    )

    assert response.status_code == 413
    assert sink.submitted == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\xfa", "application/json"),
        (b"[]", "application/json"),
        (b'{"events": []}', "application/json"),
        (b'{"events": [{"id": "x"}]}', "application/json"),
        (b'{"events": "nope"}', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b'{"events": []}', "text/plain"),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "array",
        "no-events",
        "bad-event",
        "not-a-list",
        "null",
        "empty",
        "text-plain",
    ],
)
def test_a_malformed_body_is_a_4xx_never_a_5xx(
    client: TestClient, sink: FakeSink, body: bytes, content_type: str
) -> None:
    headers = {**auth(), "Content-Type": content_type}

    response = client.post(EVENTS_PATH, content=body, headers=headers)

    assert response.status_code == 422
    assert sink.submitted == []


def test_a_schema_violation_is_422(client: TestClient) -> None:
    event = builder().started().to_dict()
    event["attempt"] = 0

    response = client.post(EVENTS_PATH, json={"events": [event]}, headers=auth())

    assert response.status_code == 422


def test_accepted_events_and_request_latency_are_counted(
    client: TestClient, metrics: OperatorMetrics
) -> None:
    steps = builder()
    events = batch(steps.started(), steps.materialized(), steps.succeeded())

    client.post(EVENTS_PATH, json=events, headers=auth())
    client.post(EVENTS_PATH, json=events, headers=auth())  # duplicates are not counted
    client.post(EVENTS_PATH, json=events)  # unauthenticated requests are timed too

    registry = metrics.registry
    for type_name in ("STEP_STARTED", "ASSET_MATERIALIZED", "STEP_SUCCEEDED"):
        assert registry.get_sample_value("kasset_events_ingested_total", {"type": type_name}) == 1
    assert registry.get_sample_value("kasset_ingest_request_duration_seconds_count") == 3


def test_the_token_never_appears_in_logs(
    client: TestClient, sink: FakeSink, caplog: pytest.LogCaptureFixture
) -> None:
    secret_token = token()
    events = batch(builder().started())
    sink.fail_with = RuntimeError("boom")

    with caplog.at_level(logging.DEBUG):
        client.post(EVENTS_PATH, json=events, headers=auth(secret_token))
        sink.fail_with = None
        client.post(EVENTS_PATH, json=events, headers=auth(secret_token))
        client.post(
            EVENTS_PATH, json=batch(builder(step="x").started()), headers=auth(secret_token)
        )

    assert caplog.records  # the failed submit was logged ...
    assert secret_token not in caplog.text  # ... without the token


def test_the_openapi_schema_documents_the_batch_body() -> None:
    app = FastAPI()
    app.include_router(build_ingest_router(FakeSink(), SECRET, None))

    schema = app.openapi()

    operation = schema["paths"][EVENTS_PATH]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["$ref"].endswith("/EventBatch")
    assert "Event" in schema["components"]["schemas"]
    assert {"202", "401", "403", "404", "413", "422", "503"} <= set(operation["responses"])


def test_recent_ids_forget_the_oldest_beyond_capacity() -> None:
    recent = RecentIds(capacity=3)

    recent.add(["a", "b", "c"])
    recent.add(["a"])  # refreshed: now the newest
    recent.add(["d"])

    assert "b" not in recent
    assert {"a", "c", "d"} <= {i for i in "acd" if i in recent}
    assert len(recent) == 3


def test_the_namespace_in_the_url_picks_the_run_when_two_namespaces_share_its_name(
    client: TestClient, sink: FakeSink
) -> None:
    started = builder().started()
    other = token(namespace="team-b")

    wrong = client.post(EVENTS_PATH, json=batch(started), headers=auth(other))
    right = client.post(f"{EVENTS_PATH}?namespace=team-b", json=batch(started), headers=auth(other))

    assert wrong.status_code == 401
    assert right.status_code == 202
    assert sink.submitted == [("team-b", RUN, [started])]


def test_a_namespace_in_the_url_does_not_open_another_namespace(client: TestClient) -> None:
    response = client.post(
        f"{EVENTS_PATH}?namespace=team-b", json=batch(builder().started()), headers=auth()
    )
    assert response.status_code == 401
