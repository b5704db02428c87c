"""The demo's install (`hack/demo up`) as a test fixture: the chart installed in its own
namespace, the population graph materialized, the UI port-forwarded."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "hack" / "demo"


@dataclass(frozen=True)
class Demo:
    namespace: str
    graph: str
    url: str
    token: str
    log: str  # what `hack/demo up` printed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_install(namespace: str, *, local: bool) -> Iterator[Demo]:
    """Runs `hack/demo up` into `namespace` and uninstalls it afterwards (the cluster
    stays: it belongs to the test session)."""
    env = {
        **os.environ,
        "KASSET_DEMO_NAMESPACE": namespace,
        "KASSET_DEMO_PORT": str(free_port()),
        "KASSET_CLUSTER": "local" if local else "current",
    }
    up = subprocess.run(
        [str(DEMO), "up"], env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    log = up.stdout + up.stderr
    if up.returncode != 0:
        raise AssertionError(f"hack/demo up failed ({up.returncode}):\n{log[-6000:]}")
    token = next(line.split()[1] for line in up.stdout.splitlines() if "token:" in line)
    try:
        url = f"http://127.0.0.1:{env['KASSET_DEMO_PORT']}"
        yield Demo(namespace, "population", url, token, log)
    finally:
        subprocess.run(
            [str(DEMO), "uninstall"], env=env, capture_output=True, timeout=600, check=False
        )
