"""The history store's tables (SQLAlchemy Core), as the newest migration leaves them.

The migrations in `migrations/versions/` create these; a test migrates an empty database
and compares it with this metadata, so the two cannot drift. Times are integer
microseconds since the epoch (UTC): exact, portable, and cheap to index and compare on
both SQLite and PostgreSQL.

`events` is the log itself; the other tables are projections of it, written in the same
transaction: `runs` and `run_assets` (the runs page and its filters), `metadata_series`
and `series_keys` (numeric metadata for plots, and which keys there are) and `assets`
(the catalog that search reads).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "assets",
    "events",
    "from_micros",
    "metadata",
    "metadata_series",
    "run_assets",
    "runs",
    "series_keys",
    "to_micros",
]

metadata = sa.MetaData()

# SQLite makes only an INTEGER PRIMARY KEY an alias of the rowid (auto-increment).
_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("namespace", sa.String(), nullable=False),
    sa.Column("graph", sa.String(), nullable=False),
    sa.Column("ts", sa.BigInteger(), nullable=False),
    sa.Column("run", sa.String()),
    sa.Column("step", sa.String()),
    sa.Column("asset", sa.String()),
    sa.Column("partition", sa.String()),
    sa.Column("attempt", sa.Integer()),
    sa.Column("name", sa.String()),
    sa.Column("payload", _Json, nullable=False),
    sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    # An asset's materializations, observations and checks, newest first.
    sa.Index("ix_events_asset", "namespace", "graph", "asset", "kind", "ts", "seq"),
    # A run's event log, in order.
    sa.Index("ix_events_run", "namespace", "run", "ts", "seq"),
    # Ticks of one schedule or sensor; checks by name.
    sa.Index("ix_events_named", "namespace", "graph", "kind", "name", "ts", "seq"),
    # Retention by age of what belongs to no run.
    sa.Index("ix_events_ts", "ts"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("namespace", sa.String(), primary_key=True),
    sa.Column("run", sa.String(), primary_key=True),
    sa.Column("graph", sa.String(), nullable=False),
    sa.Column("phase", sa.String()),
    sa.Column("launched_by", sa.String()),
    sa.Column("selection", sa.String()),
    sa.Column("partitions", sa.String()),
    sa.Column("message", sa.String()),
    sa.Column("created_ts", sa.BigInteger(), nullable=False),
    # Time of the run-phase event the row reflects; -1 while only step events were seen.
    sa.Column("updated_ts", sa.BigInteger(), nullable=False),
    sa.Column("ended_ts", sa.BigInteger()),
    sa.Index("ix_runs_created", "namespace", "created_ts", "run"),
    sa.Index("ix_runs_graph", "namespace", "graph", "created_ts", "run"),
    sa.Index("ix_runs_phase", "namespace", "phase", "created_ts", "run"),
    sa.Index("ix_runs_launched_by", "namespace", "launched_by", "created_ts", "run"),
    sa.Index("ix_runs_all_created", "created_ts", "run"),
)

run_assets = sa.Table(
    "run_assets",
    metadata,
    sa.Column("namespace", sa.String(), primary_key=True),
    sa.Column("run", sa.String(), primary_key=True),
    sa.Column("asset", sa.String(), primary_key=True),
    sa.Index("ix_run_assets_asset", "namespace", "asset", "run"),
)

metadata_series = sa.Table(
    "metadata_series",
    metadata,
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("namespace", sa.String(), nullable=False),
    sa.Column("graph", sa.String(), nullable=False),
    sa.Column("asset", sa.String(), nullable=False),
    sa.Column("partition", sa.String()),
    sa.Column("run", sa.String()),
    sa.Column("ts", sa.BigInteger(), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Index("ix_series_asset_key", "namespace", "graph", "asset", "key", "ts"),
    sa.Index("ix_series_run", "namespace", "run"),
)

# The numeric keys each asset ever reported: the plot picker, without a DISTINCT over
# every value.
series_keys = sa.Table(
    "series_keys",
    metadata,
    sa.Column("namespace", sa.String(), primary_key=True),
    sa.Column("graph", sa.String(), primary_key=True),
    sa.Column("asset", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
)

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("namespace", sa.String(), primary_key=True),
    sa.Column("graph", sa.String(), primary_key=True),
    sa.Column("asset", sa.String(), primary_key=True),
    sa.Column("last_ts", sa.BigInteger(), nullable=False),
)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest)
