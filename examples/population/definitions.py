"""The code location of the population example: `kasset materialize
examples/population/definitions.py --local`."""

from kasset import Definitions

from .assets import continent_change_model, continent_stats, country_populations

defs = Definitions(assets=[country_populations, continent_change_model, continent_stats])
