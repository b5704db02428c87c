"""Retries and checks, on purpose.

`group:diamond` succeeds: `raw_numbers` fails its first attempt and its RetryPolicy
retries it; `evens` and `odds` both read it and `number_summary` joins them, guarded by a
blocking check that passes. `group:strict` fails: `sensor_readings` holds a negative
reading, its blocking check fails, and `published_readings` downstream is skipped.
"""

from __future__ import annotations

from kasset import AssetCheckResult, AssetExecutionContext, RetryPolicy, asset, asset_check


@asset(group="diamond", retry_policy=RetryPolicy(max_retries=2, delay=0.2))
def raw_numbers(context: AssetExecutionContext) -> list[int]:
    """The numbers 1..10, from a source that drops the first connection of every run."""
    if context.attempt == 1:
        raise ConnectionError("the source dropped the connection (on purpose, attempt 1)")
    context.log.info("attempt %d got through", context.attempt)
    return list(range(1, 11))


@asset(group="diamond")
def evens(raw_numbers: list[int]) -> list[int]:
    return [n for n in raw_numbers if n % 2 == 0]


@asset(group="diamond")
def odds(raw_numbers: list[int]) -> list[int]:
    return [n for n in raw_numbers if n % 2 == 1]


@asset(group="diamond")
def number_summary(evens: list[int], odds: list[int]) -> dict[str, int]:
    return {"evens": sum(evens), "odds": sum(odds), "count": len(evens) + len(odds)}


@asset_check(asset=number_summary, blocking=True)
def counts_add_up(number_summary: dict[str, int]) -> AssetCheckResult:
    total = number_summary["evens"] + number_summary["odds"]
    passed = number_summary["count"] == 10 and total == 55
    return AssetCheckResult(passed=passed, metadata={"count": number_summary["count"]})


@asset(group="strict")
def sensor_readings() -> list[float]:
    """Temperatures in kelvin, one of them impossible."""
    return [281.5, 282.0, -4.0, 280.9]


@asset_check(asset=sensor_readings, blocking=True)
def no_negative_readings(sensor_readings: list[float]) -> AssetCheckResult:
    negative = [r for r in sensor_readings if r < 0]
    return AssetCheckResult(
        passed=not negative,
        metadata={"negative": len(negative)},
        description="kelvin readings cannot be negative",
    )


@asset(group="strict")
def published_readings(sensor_readings: list[float]) -> list[float]:
    """Never runs: the blocking check upstream fails."""
    return sorted(sensor_readings)
