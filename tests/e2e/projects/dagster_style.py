"""A project written with Dagster's names only: typed metadata, Output and DataVersion,
Pythonic config and resources (an EnvVar read where the step runs), RetryRequested, an
observation, a job over an AssetSelection.

The same file runs under Dagster with its import line changed (tests/compat), in
`materialize()`, the local executor and on the cluster.
"""

import os

from kasset import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetObservation,
    AssetSelection,
    Backoff,
    Config,
    ConfigurableResource,
    DataVersion,
    Definitions,
    EnvVar,
    MaterializeResult,
    MetadataValue,
    Output,
    RetryPolicy,
    RetryRequested,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    asset_check,
    define_asset_job,
)


class Source(ConfigurableResource):
    """Stands for a database client: its token comes from the environment."""

    prefix: str
    token: str

    def fetch(self, rows: int) -> list[int]:
        if not self.token:
            raise ValueError("no token")
        return [len(self.prefix) * n for n in range(1, rows + 1)]


class RowsConfig(Config):
    rows: int = 3
    label: str = "numbers"


@asset(
    group_name="raw",
    owners=["team:data"],
    kinds={"python"},
    tags={"tier": "bronze"},
    code_version="1",
    metadata={"source": "generated"},
)
def numbers(context: AssetExecutionContext, config: RowsConfig, source: Source) -> Output:
    values = source.fetch(config.rows)
    context.log.info("fetched %d rows for %s", len(values), context.asset_key.to_user_string())
    context.log_event(
        AssetObservation(asset_key=context.asset_key, metadata={"seen_rows": len(values)})
    )
    return Output(
        values,
        metadata={
            "rows": MetadataValue.int(len(values)),
            "label": config.label,
            "mean": MetadataValue.float(sum(values) / len(values)),
            "dashboard": MetadataValue.url("https://example.com/numbers"),
            "notes": MetadataValue.md("# Numbers\n<script>alert(1)</script> **bold**"),
            "preview": MetadataValue.table(
                records=[TableRecord({"n": v}) for v in values[:5]],
                schema=TableSchema(columns=[TableColumn("n", "int")]),
            ),
            "config": MetadataValue.json({"rows": config.rows}),
            "complete": MetadataValue.bool(True),
        },
        data_version=DataVersion(f"rows-{len(values)}"),
    )


@asset(group_name="raw", retry_policy=RetryPolicy(max_retries=0))
def flaky_fetch(context: AssetExecutionContext) -> int:
    if context.retry_number == 0:
        try:
            raise ConnectionError("the source timed out")
        except ConnectionError as error:
            raise RetryRequested(max_retries=1, seconds_to_wait=0.1) from error
    return context.retry_number


@asset(
    group_name="marts",
    retry_policy=RetryPolicy(max_retries=1, delay=0.1, backoff=Backoff.EXPONENTIAL),
)
def total(numbers: list[int], flaky_fetch: int) -> int:
    return sum(numbers) + flaky_fetch


@asset(group_name="marts", deps=[total])
def report() -> MaterializeResult:
    return MaterializeResult(metadata={"written": True, "path": MetadataValue.path("/tmp/r")})


@asset_check(asset=total)
def total_is_positive(total: int) -> AssetCheckResult:
    return AssetCheckResult(passed=total > 0, metadata={"total": total})


marts_job = define_asset_job(
    "marts_job",
    selection=AssetSelection.groups("marts").upstream() - AssetSelection.assets(report),
    tags={"team": "data"},
)

defs = Definitions(
    assets=[numbers, flaky_fetch, total, report],
    asset_checks=[total_is_positive],
    jobs=[marts_job],
    resources={
        "source": Source(
            prefix=os.environ.get("COMPAT_PREFIX", "abc"), token=EnvVar("KASSET_E2E_TOKEN")
        )
    },
)
