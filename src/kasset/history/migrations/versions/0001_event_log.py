"""The event log and the runs it describes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "events",
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
    )
    op.create_index(
        "ix_events_asset", "events", ["namespace", "graph", "asset", "kind", "ts", "seq"]
    )
    op.create_index("ix_events_run", "events", ["namespace", "run", "ts", "seq"])
    op.create_index(
        "ix_events_named", "events", ["namespace", "graph", "kind", "name", "ts", "seq"]
    )
    op.create_index("ix_events_ts", "events", ["ts"])
    op.create_table(
        "runs",
        sa.Column("namespace", sa.String(), primary_key=True),
        sa.Column("run", sa.String(), primary_key=True),
        sa.Column("graph", sa.String(), nullable=False),
        sa.Column("phase", sa.String()),
        sa.Column("launched_by", sa.String()),
        sa.Column("selection", sa.String()),
        sa.Column("partitions", sa.String()),
        sa.Column("message", sa.String()),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.Column("ended_ts", sa.BigInteger()),
    )
    op.create_index("ix_runs_created", "runs", ["namespace", "created_ts", "run"])
    op.create_index("ix_runs_graph", "runs", ["namespace", "graph", "created_ts", "run"])
    op.create_index("ix_runs_phase", "runs", ["namespace", "phase", "created_ts", "run"])
    op.create_index(
        "ix_runs_launched_by", "runs", ["namespace", "launched_by", "created_ts", "run"]
    )
    op.create_index("ix_runs_all_created", "runs", ["created_ts", "run"])
    op.create_table(
        "run_assets",
        sa.Column("namespace", sa.String(), primary_key=True),
        sa.Column("run", sa.String(), primary_key=True),
        sa.Column("asset", sa.String(), primary_key=True),
    )
    op.create_index("ix_run_assets_asset", "run_assets", ["namespace", "asset", "run"])


def downgrade() -> None:
    op.drop_table("run_assets")
    op.drop_table("runs")
    op.drop_table("events")
