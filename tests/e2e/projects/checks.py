"""A blocking check that fails: the asset it guards materializes, its child is skipped."""

from kasset import AssetCheckResult, Definitions, asset, asset_check


@asset
def readings() -> list[float]:
    return [281.5, -4.0, 280.9]


@asset_check(asset=readings, blocking=True)
def no_negatives(readings: list[float]) -> AssetCheckResult:
    negative = [r for r in readings if r < 0]
    return AssetCheckResult(passed=not negative, metadata={"negative": len(negative)})


@asset
def published(readings: list[float]) -> list[float]:
    return sorted(readings)


defs = Definitions(assets=[readings, published], asset_checks=[no_negatives])
