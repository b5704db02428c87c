"""The code location of the checks-and-retries example."""

from kasset import Definitions

from .assets import (
    counts_add_up,
    evens,
    no_negative_readings,
    number_summary,
    odds,
    published_readings,
    raw_numbers,
    sensor_readings,
)

defs = Definitions(
    assets=[raw_numbers, evens, odds, number_summary, sensor_readings, published_readings],
    asset_checks=[counts_add_up, no_negative_readings],
)
