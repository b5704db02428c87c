"""Three daily partitions; each step stores the partition key it was given."""

from kasset import AssetExecutionContext, DailyPartitionsDefinition, Definitions, asset

days = DailyPartitionsDefinition(start="2024-03-01", end="2024-03-04")


@asset(partitions_def=days)
def daily_key(context: AssetExecutionContext) -> dict[str, str]:
    return {"partition": context.partition_key, "run": context.run_id}


defs = Definitions(assets=[daily_key])
