"""Slow steps, for cancel and for a pod deleted mid-run."""

import time

from kasset import AssetExecutionContext, Definitions, RetryPolicy, asset


@asset
def sleeper() -> str:
    time.sleep(60)
    return "woke up"


@asset
def after_sleeper(sleeper: str) -> str:
    return sleeper.upper()


@asset(retry_policy=RetryPolicy(max_retries=1, delay=0))
def deletable(context: AssetExecutionContext) -> int:
    """Attempt 1 sleeps (its pod is deleted by the test); attempt 2 returns at once. The
    retry is the infrastructure's: it leaves the policy's one retry unspent."""
    if context.attempt == 1:
        time.sleep(60)
    return context.attempt


defs = Definitions(assets=[sleeper, after_sleeper, deletable])
