"""A diamond whose top asset fails its first attempt and succeeds on the retry."""

from kasset import AssetExecutionContext, Definitions, RetryPolicy, asset


@asset(retry_policy=RetryPolicy(max_retries=2, delay=1))
def flaky(context: AssetExecutionContext) -> int:
    if context.attempt == 1:
        raise ConnectionError("flaky on purpose: attempt 1 always fails")
    return 10


@asset
def left(flaky: int) -> int:
    return flaky + 1


@asset
def right(flaky: int) -> int:
    return flaky * 2


@asset
def joined(left: int, right: int) -> dict[str, int]:
    return {"left": left, "right": right, "sum": left + right}


defs = Definitions(assets=[flaky, left, right, joined])
