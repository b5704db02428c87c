"""Runs `kasset operator` as a host process against the test cluster, as a user would run
it locally: one namespace, no leader election, a known event secret and port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRET = "integration-test-secret"
#: Pods reach host processes through the CNI bridge gateway (docs/cluster.md).
HOST_FROM_PODS = os.environ.get("KASSET_TEST_HOST_IP", "10.244.0.1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def operator(kubeconfig: str, namespace: str, *extra: str) -> Iterator[tuple[int, Path]]:
    """Yields (port, log file) once /readyz answers; stops the process with SIGTERM."""
    port = free_port()
    log = Path(f"/tmp/kasset-operator-{namespace}.log")
    env = {**os.environ, "KUBECONFIG": kubeconfig, "KASSET_EVENT_SECRET": SECRET}
    args = [
        sys.executable,
        "-m",
        "kasset.operator",
        "--namespace",
        namespace,
        "--no-leader-election",
        "--port",
        str(port),
        "--event-url",
        f"http://{HOST_FROM_PODS}:{port}/api/v1/events",
        *extra,
    ]
    with log.open("w") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"the operator exited ({process.returncode}):\n{log.read_text()[-4000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the operator never became ready:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield port, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
