"""Reports events to the operator's ingest endpoint from a background thread, so a slow
or restarting operator never stalls the user's code; standard library only.

`POST <url>` with `{"events": [...]}` and `Authorization: Bearer <token>`; the endpoint is
idempotent by event id, so a batch is simply re-sent until it is answered.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kasset.runtime.records import FINAL_EVENT_TYPES, OUTCOME_EVENT_TYPES, EventRecord

if TYPE_CHECKING:
    import http.client
    import urllib.request

__all__ = ["Backoff", "HttpSink"]

logger = logging.getLogger("kasset.runtime")

MAX_BATCH_EVENTS = 100
MAX_BATCH_BYTES = 1 << 20
DEFAULT_CLOSE_TIMEOUT = 10.0
_RETRY_STATUSES = frozenset({408, 429})
_WARN_AFTER_FAILURES = 3


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: `initial * 2**(n-1)` capped at `maximum`, then jittered
    into its upper half so that many pods retrying do not hit the operator in step."""

    initial: float = 0.2
    maximum: float = 10.0

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))
        return ceiling / 2 + rng() * ceiling / 2


class _Answer:
    """What one POST achieved: delivered, rejected for good, or worth retrying."""

    DELIVERED = "delivered"
    REJECTED = "rejected"
    RETRY = "retry"


class HttpSink:
    """Posts batches of events to `url` from a daemon thread.

    Connection errors, 5xx, 408 and 429 are retried with exponential backoff and jitter
    (honouring `Retry-After`); any other 4xx drops the batch (counted in `rejected`). At
    most `max_buffer` events wait: beyond that the oldest progress event is dropped
    (counted in `dropped`), never a step's outcome. `close(timeout)` flushes, waiting up
    to `timeout` seconds; what is still undelivered then is counted in `undelivered`.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        max_buffer: int = 1000,
        request_timeout: float = 10.0,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.url = url
        self.max_buffer = max_buffer
        self.request_timeout = request_timeout
        self.backoff = backoff
        self.delivered = self.dropped = self.rejected = self.undelivered = 0
        self._headers = {"Content-Type": "application/json", "User-Agent": "kasset-runtime"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._buffer: collections.deque[EventRecord] = collections.deque()
        self._in_flight = 0
        # An RLock inside: the SIGTERM handler may emit while the main thread emits.
        self._changed = threading.Condition(threading.RLock())
        self._closing = False
        self._deadline = float("inf")
        self._opener: urllib.request.OpenerDirector | None = None
        self._thread = threading.Thread(target=self._deliver, name="kasset-events", daemon=True)
        self._thread.start()

    def emit(self, event: EventRecord) -> None:
        with self._changed:
            if len(self._buffer) >= self.max_buffer:
                self._drop_one()
            self._buffer.append(event)
            self._changed.notify()

    def _drop_one(self) -> None:
        for keep in (FINAL_EVENT_TYPES, OUTCOME_EVENT_TYPES):
            for index, queued in enumerate(self._buffer):
                if queued.type not in keep:
                    del self._buffer[index]
                    self.dropped += 1
                    if self.dropped == 1:
                        logger.warning("event buffer full: dropping progress events")
                    return
        # Only outcomes are queued: keep them all, over the bound.

    @property
    def pending(self) -> int:
        """Events not yet delivered nor given up on."""
        with self._changed:
            return len(self._buffer) + self._in_flight

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT) -> None:
        with self._changed:
            if timeout is not None:
                self._deadline = min(self._deadline, time.monotonic() + timeout)
            self._closing = True
            self._changed.notify_all()
        self._thread.join(None if timeout is None else max(0.0, self._deadline - time.monotonic()))
        self.undelivered = self.pending
        if self.undelivered:
            logger.warning(
                "%d event(s) could not be reported to %s before the deadline",
                self.undelivered,
                self.url,
            )

    def _deliver(self) -> None:
        failures = 0
        batch: list[str] = []
        while True:
            with self._changed:
                while True:
                    if self._closing and (
                        time.monotonic() >= self._deadline or not (batch or self._buffer)
                    ):
                        return
                    if batch:
                        break
                    if self._buffer:
                        batch = self._take_batch()
                    else:
                        self._changed.wait()
            answer, retry_after = self._post(batch)
            if answer != _Answer.RETRY:
                with self._changed:
                    self._in_flight = 0
                    if answer == _Answer.DELIVERED:
                        self.delivered += len(batch)
                    else:
                        self.rejected += len(batch)
                batch, failures = [], 0
                continue
            failures += 1
            if failures == _WARN_AFTER_FAILURES:
                logger.warning("the event endpoint %s is not answering; still retrying", self.url)
            delay = self.backoff.delay(failures)
            if retry_after is not None:
                delay = min(max(delay, retry_after), self.backoff.maximum)
            with self._changed:
                wake_at = min(time.monotonic() + delay, self._deadline)
                # Sleep on the condition: close() cuts a backoff short at the deadline.
                while (now := time.monotonic()) < wake_at:
                    self._changed.wait(wake_at - now)
                    wake_at = min(wake_at, self._deadline)

    def _take_batch(self) -> list[str]:
        """Up to MAX_BATCH_EVENTS serialised events, about MAX_BATCH_BYTES at most."""
        batch: list[str] = []
        size = 0
        while self._buffer and len(batch) < MAX_BATCH_EVENTS:
            text = self._buffer[0].to_json()
            size += len(text) + 1
            if batch and size > MAX_BATCH_BYTES:
                break
            batch.append(text)
            self._buffer.popleft()
        self._in_flight = len(batch)
        return batch

    def _post(self, batch: list[str]) -> tuple[str, float | None]:
        import http.client
        import urllib.error
        import urllib.request

        body = ('{"events":[' + ",".join(batch) + "]}").encode()
        request = urllib.request.Request(self.url, body, self._headers, method="POST")
        timeout = min(self.request_timeout, max(0.1, self._deadline - time.monotonic()))
        try:
            with self._open(request, timeout) as response:
                response.read()
            return _Answer.DELIVERED, None
        except urllib.error.HTTPError as error:
            status = error.code
            retry_after = _retry_after(error.headers.get("Retry-After"))
            detail = _body_of(error)
            error.close()
            if status >= 500 or status in _RETRY_STATUSES:
                logger.info("event endpoint answered %d, retrying: %s", status, detail)
                return _Answer.RETRY, retry_after
            logger.warning(
                "event endpoint rejected %d event(s) with %d: %s", len(batch), status, detail
            )
            return _Answer.REJECTED, None
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets
            logger.info("cannot reach the event endpoint %s, retrying: %s", self.url, error)
            return _Answer.RETRY, None

    def _open(self, request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
        import urllib.request

        if self._opener is None:
            # The endpoint is inside the cluster: proxies from the image's environment
            # (meant for the internet) must not capture it.
            self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        response: http.client.HTTPResponse = self._opener.open(request, timeout=timeout)
        return response


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to our own backoff


def _body_of(error: Exception) -> str:
    try:
        text = error.read(300).decode("utf-8", "replace")  # type: ignore[attr-defined]
    except Exception:
        return str(error)
    return " ".join(text.split()) or str(error)
