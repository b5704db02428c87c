"""Asset code that misbehaves on purpose (tests/security/test_user_code_failures.py).

Every asset is independent (no deps) and has no retries, so one run of `defs` gives one
failed step per failure mode and finishes. `ok` succeeds; `token_probe` reports whether a
Kubernetes service account token is mounted in the step pod (it must not be).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

from kasset import Definitions, asset

TOKEN_PATH = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
#: Megabytes of log lines `noisy` prints (on stdout and stderr) before it fails.
NOISY_MB = int(os.environ.get("KASSET_TEST_NOISY_MB", "4"))
HANG_TIMEOUT = float(os.environ.get("KASSET_TEST_HANG_TIMEOUT", "3"))


@asset
def ok() -> int:
    return 1


@asset
def raises() -> int:
    raise ValueError("boom from user code")


@asset(timeout=HANG_TIMEOUT)
def hangs() -> int:
    time.sleep(3600)
    return 0


@asset
def exits_3() -> int:
    sys.exit(3)


@asset
def hard_exit() -> int:
    os._exit(1)


@asset
def noisy() -> int:
    line = "x" * 1023 + "\n"
    for _ in range(NOISY_MB * 1024 // 2):
        sys.stdout.write(line)
        sys.stderr.write(line)
    sys.stdout.flush()
    raise RuntimeError("failed after printing megabytes of logs")


@asset
def returns_lambda() -> object:
    return lambda x: x


@asset
def returns_lock() -> object:
    return threading.Lock()


@asset
def returns_socket() -> object:
    return socket.socket()


@asset
def token_probe() -> dict[str, object]:
    """What a step pod can see of Kubernetes API credentials (expected: nothing)."""
    return {
        "token_exists": TOKEN_PATH.exists(),
        "sa_dir_exists": TOKEN_PATH.parent.exists(),
        "service_host": os.environ.get("KUBERNETES_SERVICE_HOST", ""),
    }


FAILING = [raises, hangs, exits_3, hard_exit, noisy, returns_lambda, returns_lock, returns_socket]
defs = Definitions(assets=[ok, *FAILING, token_probe])
