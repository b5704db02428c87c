"""Dagster's README example with only the imports changed, and the population table read
from a CSV next to this file instead of the web (so it runs offline)."""

from pathlib import Path

from pandas import DataFrame, get_dummies, read_csv

from kasset import asset

from .least_squares import LinearRegression


@asset
def country_populations() -> DataFrame:
    df = read_csv(Path(__file__).with_name("country_populations.csv"))
    df["change"] = ((df["pop2023"] / df["pop2022"] - 1) * 100).round(2)
    return df


@asset
def continent_change_model(country_populations: DataFrame) -> LinearRegression:
    data = country_populations.dropna(subset=["change"])
    return LinearRegression().fit(get_dummies(data[["continent"]]), data["change"])


@asset
def continent_stats(
    country_populations: DataFrame, continent_change_model: LinearRegression
) -> DataFrame:
    result = country_populations.groupby("continent").sum()
    result["pop_change_factor"] = continent_change_model.coef_
    return result
