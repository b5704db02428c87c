"""The history schema's migrations on both backends: from an empty database to exactly
the tables of `schema.py`, from the previous revision with its data kept (and filled
into the new tables), down and up again, and a clear error for a schema from a newer
kasset."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from history_builders import materialization, run_events

from kasset.errors import HistoryError
from kasset.history import MATERIALIZED
from kasset.history.engine import create_history_engine, current_revision, migrate
from kasset.history.projection import project
from kasset.history.schema import events, metadata, runs
from kasset.history.store import SqlHistoryStore, open_store

REVISIONS = ["0001", "0002"]
VERSION_TABLE = "kasset_history_version"


def _schema_differences(engine: sa.Engine) -> list[object]:
    """What differs between the database and `schema.metadata` (tables, columns, types,
    indexes, constraints), leaving out Alembic's own version table."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found = compare_metadata(context, metadata)
    return [
        d for d in found
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == VERSION_TABLE)
    ]  # fmt: skip


def test_an_empty_database_is_migrated_to_exactly_the_declared_schema(
    database_url: str,
) -> None:
    engine = create_history_engine(database_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == REVISIONS[-1]
    assert _schema_differences(engine) == []
    engine.dispose()


def test_the_schema_check_sees_a_missing_index(database_url: str) -> None:
    engine = create_history_engine(database_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_runs_phase"))
    assert [d[0] for d in _schema_differences(engine) if isinstance(d, tuple)] == ["add_index"]
    engine.dispose()


def test_migrating_twice_changes_nothing(database_url: str) -> None:
    engine = create_history_engine(database_url)
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == REVISIONS[-1]
    engine.dispose()


def test_a_database_at_the_previous_revision_keeps_its_events_and_fills_the_new_tables(
    database_url: str,
) -> None:
    engine = create_history_engine(database_url)
    migrate(engine, "0001")
    old = [materialization(n, metadata={"rows": n, "note": "x"}) for n in range(1, 6)]
    old += run_events("run-1", start=0)
    rows = project(old)
    with engine.begin() as connection:  # what revision 0001's store wrote
        connection.execute(events.insert(), rows.events)
        connection.execute(runs.insert(), rows.runs)
    engine.dispose()

    store = open_store(database_url)
    assert current_revision(store.engine) == "0002"
    page = store.asset_events("data", "shop", "raw/orders", [MATERIALIZED])
    assert len(page.items) == 5
    assert [p.value for p in store.metadata_series("data", "shop", "raw/orders", "rows")] == [
        1.0, 2.0, 3.0, 4.0, 5.0,
    ]  # fmt: skip
    assert [a.asset for a in store.search("data", "orders").assets] == ["raw/orders"]
    assert store.get_run("data", "run-1") is not None
    store.close()


def test_downgrading_to_the_previous_revision_and_back_round_trips(database_url: str) -> None:
    store = open_store(database_url)
    store.append([materialization(n) for n in range(1, 4)])
    migrate(store.engine, "0001")
    assert current_revision(store.engine) == "0001"
    assert "metadata_series" not in sa.inspect(store.engine).get_table_names()
    migrate(store.engine)
    assert _schema_differences(store.engine) == []
    assert len(store.metadata_series("data", "shop", "raw/orders", "rows")) == 3
    store.close()


def test_a_schema_written_by_a_newer_kasset_is_refused_clearly(database_url: str) -> None:
    store: SqlHistoryStore = open_store(database_url)
    with store.engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(HistoryError, match="revision '9999' is unknown to this kasset"):
        migrate(store.engine)
    store.close()
