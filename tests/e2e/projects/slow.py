"""Slow steps, for cancel and for a pod deleted mid-run."""

import time

from kasset import AssetExecutionContext, Definitions, asset


@asset
def sleeper() -> str:
    time.sleep(60)
    return "woke up"


@asset
def after_sleeper(sleeper: str) -> str:
    return sleeper.upper()


@asset
def deletable(context: AssetExecutionContext) -> int:
    """Attempt 1 sleeps (its pod is deleted by the test); attempt 2 returns at once. No
    retry policy: the retry is the infrastructure's, free."""
    if context.attempt == 1:
        time.sleep(60)
    return context.attempt


defs = Definitions(assets=[sleeper, after_sleeper, deletable])
