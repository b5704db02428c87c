"""The code location of the user-image example: `KASSET_CODE=my_assets.definitions:defs`.

Plain Python values, so it runs on the default image (no pandas).
"""

from kasset import AssetExecutionContext, Definitions, asset


@asset(group="demo")
def numbers() -> list[int]:
    return list(range(1, 11))


@asset(group="demo")
def total(context: AssetExecutionContext, numbers: list[int]) -> int:
    context.log.info("adding %d numbers", len(numbers))
    return sum(numbers)


defs = Definitions(assets=[numbers, total])
