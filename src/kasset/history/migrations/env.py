"""Alembic's entry point for the history store: always run through
`kasset.history.engine.migrate`, which hands over an open connection."""

from __future__ import annotations

from alembic import context

VERSION_TABLE = "kasset_history_version"

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
