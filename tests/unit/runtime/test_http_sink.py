from __future__ import annotations

import socket
import time

import pytest

from kasset.runtime.events import EventBuilder
from kasset.runtime.http_sink import Backoff, HttpSink

from .conftest import Endpoint

BUILDER = EventBuilder("run-1", "orders", "orders", None, 1)
FAST = Backoff(initial=0.01, maximum=0.05)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_sink_posts_batches_with_the_bearer_token(endpoint: Endpoint) -> None:
    sink = HttpSink(endpoint.url, "secret-token", backoff=FAST)
    events = [BUILDER.started(), BUILDER.materialized({"rows": 1}), BUILDER.succeeded()]
    for event in events:
        sink.emit(event)
    sink.close(timeout=5)
    assert [e["id"] for e in endpoint.delivered_events] == [e.id for e in events]
    assert set(endpoint.authorizations) == {"Bearer secret-token"}
    assert endpoint.delivered_events[1]["payload"]["metadata"] == {"rows": 1}
    assert (sink.delivered, sink.undelivered) == (3, 0)


def test_http_sink_retries_until_the_endpoint_answers(endpoint: Endpoint) -> None:
    endpoint.statuses = [503, 500, 429, 408, 202]
    sink = HttpSink(endpoint.url, "t", backoff=FAST)
    event = BUILDER.succeeded()
    sink.emit(event)
    sink.close(timeout=5)
    assert len(endpoint.requests) == 5
    assert all(body["events"][0]["id"] == event.id for body in endpoint.requests)  # same id
    assert sink.delivered == 1


def test_http_sink_retries_while_the_endpoint_is_down() -> None:
    port = unused_port()
    sink = HttpSink(f"http://127.0.0.1:{port}/api/v1/events", "t", backoff=FAST)
    sink.emit(BUILDER.succeeded())
    started = time.monotonic()
    sink.close(timeout=0.5)
    assert 0.4 < time.monotonic() - started < 3
    assert sink.undelivered == 1


def test_http_sink_gives_up_on_a_client_error(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.statuses = [401, 202]
    sink = HttpSink(endpoint.url, "wrong", backoff=FAST)
    sink.emit(BUILDER.started())
    time.sleep(0.2)
    sink.emit(BUILDER.succeeded())
    sink.close(timeout=5)
    assert len(endpoint.requests) == 2  # the rejected batch is not re-sent
    assert (sink.rejected, sink.delivered) == (1, 1)
    assert "401" in caplog.text


def test_http_sink_honours_retry_after(endpoint: Endpoint) -> None:
    endpoint.statuses = [429, 202]
    endpoint.headers = {"Retry-After": "0.3"}
    sink = HttpSink(endpoint.url, "t", backoff=Backoff(initial=0.01, maximum=1.0))
    started = time.monotonic()
    sink.emit(BUILDER.succeeded())
    sink.close(timeout=5)
    assert time.monotonic() - started >= 0.3
    assert sink.delivered == 1


def test_a_full_buffer_drops_the_oldest_progress_events_never_the_outcome() -> None:
    port = unused_port()
    sink = HttpSink(f"http://127.0.0.1:{port}/x", "t", max_buffer=3, backoff=FAST)
    sink.close(timeout=0)  # stop the sender: the buffer only fills
    sink._thread.join()
    outcome = BUILDER.succeeded()
    for event in [
        BUILDER.started(),
        BUILDER.materialized(),
        BUILDER.started(),
        outcome,
        BUILDER.check_evaluated("c", True),
        BUILDER.started(),
    ]:
        sink.emit(event)
    kept = list(sink._buffer)
    assert outcome in kept and len(kept) == 3
    assert [e.type for e in kept] == ["STEP_SUCCEEDED", "ASSET_CHECK_EVALUATED", "STEP_STARTED"]
    assert sink.dropped == 3


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(initial=1.0, maximum=8.0)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert [backoff.delay(n, rng=lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1, 2]


def test_closing_an_idle_sink_is_immediate(endpoint: Endpoint) -> None:
    sink = HttpSink(endpoint.url, None)
    started = time.monotonic()
    sink.close(timeout=5)
    assert time.monotonic() - started < 2.5  # it did not wait for the timeout
    assert endpoint.requests == []
