"""The event ingest endpoint and the UI's JSON API fuzzed from their own OpenAPI documents
(schemathesis, no cluster): never a 5xx; without a token or with a wrong one, 401; an
oversized body, 413; a replayed event accepted once.

Ingest requests are signed with the step token of the step attempt their first event names
(so generated bodies get past authentication and reach validation and the sink).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from prometheus_client import CollectorRegistry

from kasset.operator.ingest.endpoint import EVENTS_PATH, build_ingest_router
from kasset.operator.model.auth import step_token
from kasset.operator.telemetry.metrics import OperatorMetrics
from kasset.runtime.events import Event

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "ui"))
from ui_testkit import TOKEN, demo_backend

from kasset.ui.app import create_app
from kasset.ui.auth import AuthConfig

SECRET = b"fuzz-secret"
NAMESPACE = "fuzz"
MAX_BODY = 64 * 1024
EXAMPLES = 60
STATS: dict[str, Counter[str]] = {"ingest": Counter(), "ui": Counter()}


class AnyRunSink:
    """Every run exists (in NAMESPACE), so authenticated batches reach the sink."""

    def __init__(self) -> None:
        self.submitted: list[Event] = []

    def ready(self) -> bool:
        return True

    def namespace_of(self, run: str) -> str | None:
        return NAMESPACE

    async def submit_events(self, namespace: str, run: str, events: list[Event]) -> None:
        self.submitted.extend(events)


SINK = AnyRunSink()
INGEST = FastAPI()
INGEST.include_router(
    build_ingest_router(
        SINK, SECRET, OperatorMetrics(CollectorRegistry()), max_body_bytes=MAX_BODY, max_events=50
    )
)
INGEST_SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", INGEST)

UI = create_app(demo_backend(), auth=AuthConfig(token=TOKEN))
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# the run event stream is long-lived (server-sent events): not fuzzed
UI_SCHEMA = schemathesis.openapi.from_asgi("/api/openapi.json", UI, headers=BEARER).exclude(
    path_regex=r".*/events$"
)

PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _token_for(body: Any) -> str:
    """The step token of the first event's step attempt (or of a made-up one)."""
    try:
        first = body["events"][0]
        run, step, attempt = str(first["run"]), str(first["step"]), int(first["attempt"])
    except (KeyError, IndexError, TypeError, ValueError):
        run, step, attempt = "r", "s", 1
    return step_token(SECRET, NAMESPACE, run, step, attempt)


@INGEST_SCHEMA.parametrize()
@PROFILE
def test_ingest_never_5xx_and_refuses_missing_or_wrong_tokens(case: schemathesis.Case) -> None:
    before = len(SINK.submitted)
    signed = case.call(headers={"Authorization": f"Bearer {_token_for(case.body)}"})
    STATS["ingest"][str(signed.status_code)] += 1
    if signed.status_code != 202:
        assert len(SINK.submitted) == before, "a refused batch reached the sink"
    assert signed.status_code < 500, (signed.status_code, signed.text[:500])
    if signed.status_code == 405:  # a method the endpoint does not have
        return
    anonymous = case.call(headers={"Authorization": ""})
    assert anonymous.status_code == 401, anonymous.text[:300]
    wrong = case.call(headers={"Authorization": "Bearer " + "A" * 43})
    STATS["ingest"][f"{wrong.status_code} (wrong token)"] += 1
    if signed.status_code in (413, 422):
        # The token is of the step attempt the body names: a body that does not parse
        # cannot be checked against it. Still refused, and nothing reaches the sink.
        assert wrong.status_code in (401, 413, 422), wrong.text[:300]
    else:
        assert wrong.status_code == 401, wrong.text[:300]


@UI_SCHEMA.parametrize()
@PROFILE
def test_ui_api_never_5xx_and_refuses_missing_or_wrong_tokens(case: schemathesis.Case) -> None:
    authorized = case.call(headers=BEARER)
    STATS["ui"][str(authorized.status_code)] += 1
    assert authorized.status_code < 500, (case.method, case.formatted_path, authorized.text[:500])
    if authorized.status_code == 405:  # a method the route does not have
        return
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-the-token"}):
        refused = case.call(headers=headers)
        assert refused.status_code == 401, (case.method, case.formatted_path, refused.status_code)
        STATS["ui"]["401 (no/wrong token)"] += 1


def _event(run: str = "r1", step: str = "a", attempt: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "STEP_STARTED",
        "run": run,
        "step": step,
        "asset": step,
        "attempt": attempt,
        "timestamp": "2024-01-01T00:00:00Z",
        **extra,
    }


def test_oversized_bodies_are_413_and_a_replayed_event_is_accepted_once() -> None:
    from fastapi.testclient import TestClient

    token = step_token(SECRET, NAMESPACE, "r1", "a", 1)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(INGEST, raise_server_exceptions=False) as http:
        big = {"events": [_event(payload={"metadata": {"x": "y" * (MAX_BODY + 10)}})]}
        assert http.post(EVENTS_PATH, json=big, headers=auth).status_code == 413

        def chunks() -> Any:
            for _ in range(100):
                yield b" " * 4096

        streamed = http.post(
            EVENTS_PATH, content=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        event = _event()
        before = len(SINK.submitted)
        first = http.post(EVENTS_PATH, json={"events": [event]}, headers=auth)
        again = http.post(EVENTS_PATH, json={"events": [event]}, headers=auth)
        assert first.status_code == again.status_code == 202
        assert first.json() == {"accepted": 1, "duplicates": 0}
        assert again.json() == {"accepted": 0, "duplicates": 1}
        assert len(SINK.submitted) == before + 1


@pytest.fixture(scope="module", autouse=True)
def report() -> Any:
    yield
    print(f"\nschemathesis responses: {json.dumps({k: dict(v) for k, v in STATS.items()})}")
