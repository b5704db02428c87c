"""Step code that tries to report for a sibling, or exits 0 without an outcome (issue 11).

`liar` writes events for `victim` into every channel it can reach (its termination log,
the ingest endpoint with its own token, the local executor's event file) and then exits 0
without reporting for itself; `silent` just exits 0. Both have one retry. `victim` sleeps
long enough to still be running when `liar` ends, so a forged success would show as
`victim` Succeeded early and `after_victim` launched before `victim` finished.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kasset import Definitions, RetryPolicy, asset

VICTIM_SECONDS = float(os.environ.get("KASSET_TEST_VICTIM_SECONDS", "20"))


def _event(kind: str, step: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "run": os.environ["KASSET_RUN"],
        "step": step,
        "asset": step,
        "attempt": 1,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "payload": payload or {},
    }


def _post(events: list[dict[str, Any]]) -> int | None:
    url, token = os.environ.get("KASSET_EVENT_URL"), os.environ.get("KASSET_EVENT_TOKEN")
    if not url or not token:
        return None
    request = urllib.request.Request(
        url,
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return -1


def _record(name: str, value: Any) -> None:
    """Leaves `value` next to the stored assets, where the test can read it."""
    root = os.environ.get("KASSET_STORAGE_URI", "")
    root = root.removeprefix("file://")
    if root:
        folder = Path(root) / "forgery"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}-{os.environ.get('KASSET_ATTEMPT', '0')}.json").write_text(
            json.dumps(value)
        )


@asset
def victim() -> int:
    time.sleep(VICTIM_SECONDS)
    return 1


@asset
def after_victim(victim: int) -> int:
    return victim + 1


@asset(retry_policy=RetryPolicy(max_retries=1))
def liar() -> int:
    forged = [
        _event("ASSET_MATERIALIZED", "victim", {"metadata": {"forged": "yes"}}),
        _event("STEP_SUCCEEDED", "victim"),
    ]
    _record("http", _post(forged))
    event_file = os.environ.get("KASSET_EVENT_FILE")
    if event_file:
        with open(event_file, "a", encoding="utf-8") as events:
            events.writelines(json.dumps(event) + "\n" for event in forged)
    termination_log = os.environ.get("KASSET_TERMINATION_LOG", "/dev/termination-log")
    if os.path.exists(termination_log) or "KASSET_TERMINATION_LOG" in os.environ:
        Path(termination_log).write_text(json.dumps({"v": 1, "events": forged}))
    os._exit(0)


@asset(retry_policy=RetryPolicy(max_retries=1))
def silent() -> int:
    os._exit(0)


@asset
def after_silent(silent: int) -> int:
    return silent


defs = Definitions(assets=[victim, after_victim, liar, silent, after_silent])
