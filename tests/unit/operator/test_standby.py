"""A replica waiting for the lease passes its probes and turns work away."""

from __future__ import annotations

import urllib.error
import urllib.request

from kasset.operator.process.standby import StandbyServer


def _get(url: str, data: bytes | None = None) -> tuple[int, str, str | None]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=5) as response:
            return response.status, response.read().decode(), None
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("Retry-After")


def test_a_standby_passes_probes_and_asks_event_senders_to_retry() -> None:
    with StandbyServer("127.0.0.1", 0) as standby:
        base = f"http://127.0.0.1:{standby.port}"
        assert _get(f"{base}/healthz")[0] == 200
        assert _get(f"{base}/readyz")[0] == 200
        assert "kasset_operator_leader 0" in _get(f"{base}/metrics")[1]
        status, _, retry_after = _get(f"{base}/api/v1/events", data=b'{"events": []}')
        assert (status, retry_after) == (503, "2")


def test_the_port_is_free_for_the_leader_once_the_standby_ends() -> None:
    with StandbyServer("127.0.0.1", 0) as standby:
        port = standby.port
    with StandbyServer("127.0.0.1", port) as again:
        assert _get(f"http://127.0.0.1:{again.port}/healthz")[0] == 200
