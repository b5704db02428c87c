"""The three-asset example from Dagster's README, on kasset."""
