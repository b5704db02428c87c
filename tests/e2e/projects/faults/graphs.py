"""Ten fast no-op assets: a chain of six and a diamond whose top fails its first attempt
(retried at once). Every body leaves a marker (marks.py). For the operator-kill test."""

from kasset import AssetExecutionContext, Definitions, RetryPolicy, asset

from .marks import mark


@asset
def k1(context: AssetExecutionContext) -> int:
    mark(context)
    return 1


@asset
def k2(context: AssetExecutionContext, k1: int) -> int:
    mark(context)
    return k1 + 1


@asset
def k3(context: AssetExecutionContext, k2: int) -> int:
    mark(context)
    return k2 + 1


@asset
def k4(context: AssetExecutionContext, k3: int) -> int:
    mark(context)
    return k3 + 1


@asset
def k5(context: AssetExecutionContext, k4: int) -> int:
    mark(context)
    return k4 + 1


@asset
def k6(context: AssetExecutionContext, k5: int) -> int:
    mark(context)
    return k5 + 1


@asset(retry_policy=RetryPolicy(max_retries=2, delay=0))
def top(context: AssetExecutionContext) -> int:
    mark(context)
    if context.attempt == 1:
        raise RuntimeError("fails its first attempt on purpose")
    return 10


@asset
def left(context: AssetExecutionContext, top: int) -> int:
    mark(context)
    return top + 1


@asset
def right(context: AssetExecutionContext, top: int) -> int:
    mark(context)
    return top * 2


@asset
def joined(context: AssetExecutionContext, left: int, right: int) -> int:
    mark(context)
    return left + right


defs = Definitions(assets=[k1, k2, k3, k4, k5, k6, top, left, right, joined])
