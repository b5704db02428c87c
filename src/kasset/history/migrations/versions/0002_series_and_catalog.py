"""Numeric metadata series and their keys (plots) and the asset catalog (search), filled from the
events already stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kasset.history.events import ASSET_KINDS, numeric_metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHUNK = 2000


def upgrade() -> None:
    series = op.create_table(
        "metadata_series",
        sa.Column("event_id", sa.String(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("graph", sa.String(), nullable=False),
        sa.Column("asset", sa.String(), nullable=False),
        sa.Column("partition", sa.String()),
        sa.Column("run", sa.String()),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_series_asset_key", "metadata_series", ["namespace", "graph", "asset", "key", "ts"]
    )
    op.create_index("ix_series_run", "metadata_series", ["namespace", "run"])
    op.create_table(
        "series_keys",
        sa.Column("namespace", sa.String(), primary_key=True),
        sa.Column("graph", sa.String(), primary_key=True),
        sa.Column("asset", sa.String(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
    )
    op.create_table(
        "assets",
        sa.Column("namespace", sa.String(), primary_key=True),
        sa.Column("graph", sa.String(), primary_key=True),
        sa.Column("asset", sa.String(), primary_key=True),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
    )
    _backfill(series)


def _backfill(series: sa.Table | None) -> None:
    bind = op.get_bind()
    events = sa.table(
        "events",
        *(sa.column(name) for name in ("seq", "event_id", "namespace", "graph", "asset")),
        *(sa.column(name) for name in ("partition", "run", "ts", "kind")),
        sa.column("payload", sa.JSON()),
    )
    bind.execute(
        sa.text(
            "INSERT INTO assets (namespace, graph, asset, last_ts) "
            "SELECT namespace, graph, asset, max(ts) FROM events "
            "WHERE asset IS NOT NULL GROUP BY namespace, graph, asset"
        )
    )
    assert series is not None  # op.create_table returns the table it made
    after = -1
    while True:
        chunk = bind.execute(
            sa.select(events)
            .where(events.c.kind.in_(sorted(ASSET_KINDS)), events.c.seq > after)
            .order_by(events.c.seq)
            .limit(_CHUNK)
        ).all()
        if not chunk:
            break
        rows = [
            {
                "event_id": row.event_id,
                "key": key,
                "namespace": row.namespace,
                "graph": row.graph,
                "asset": row.asset,
                "partition": row.partition,
                "run": row.run,
                "ts": row.ts,
                "value": value,
            }
            for row in chunk
            for key, value in numeric_metadata(row.payload).items()
        ]
        if rows:
            bind.execute(series.insert(), rows)
        after = chunk[-1].seq
    bind.execute(
        sa.text(
            "INSERT INTO series_keys (namespace, graph, asset, key) "
            "SELECT DISTINCT namespace, graph, asset, key FROM metadata_series"
        )
    )


def downgrade() -> None:
    op.drop_table("assets")
    op.drop_table("series_keys")
    op.drop_table("metadata_series")
