"""Runtimes that die without reporting, and slow steps for the leader / control-plane
fault tests."""

import os
import signal
import time

from kasset import AssetExecutionContext, Definitions, RetryPolicy, asset

from .marks import mark, storage_root


@asset(retry_policy=RetryPolicy(max_retries=2, delay=0))
def sigkilled(context: AssetExecutionContext) -> int:
    """Attempt 1 kills its own process with SIGKILL before reporting anything. In a
    container the runtime is PID 1, and PID 1 cannot be sent SIGKILL from inside its own
    PID namespace (the kernel drops it): then it asks the test, on the host, to do it
    (a `kill-me` file) and waits."""
    mark(context)
    if context.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
        request = storage_root() / "_kill-me" / f"{context.run_id}__{os.getpid()}"
        request.parent.mkdir(parents=True, exist_ok=True)
        request.write_text(os.environ.get("HOSTNAME", ""))
        time.sleep(120)
        raise RuntimeError("nobody killed me")
    return context.attempt


@asset
def after_sigkilled(context: AssetExecutionContext, sigkilled: int) -> int:
    mark(context)
    return sigkilled + 1


@asset
def s1(context: AssetExecutionContext) -> int:
    mark(context)
    time.sleep(4)
    return 1


@asset
def s2(context: AssetExecutionContext, s1: int) -> int:
    mark(context)
    time.sleep(4)
    return s1 + 1


@asset
def s3(context: AssetExecutionContext, s2: int) -> int:
    mark(context)
    time.sleep(4)
    return s2 + 1


@asset
def s4(context: AssetExecutionContext, s3: int) -> int:
    mark(context)
    return s3 + 1


defs = Definitions(assets=[sigkilled, after_sigkilled])
slow = Definitions(assets=[s1, s2, s3, s4])
