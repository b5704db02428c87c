"""Opening a history database: a URL becomes an engine set up for its backend, and the
schema is brought to this kasset's revision (Alembic) before anything reads or writes.

Two backends, one SQL: SQLite (a file, the embedded default; WAL, so readers never block
the writer, and a full fsync per commit, so what was written stays written) and
PostgreSQL (production and high availability, through psycopg 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from kasset.errors import HistoryError

__all__ = ["HEAD", "create_history_engine", "current_revision", "migrate", "normalize_url"]

HEAD = "head"
_VERSION_TABLE = "kasset_history_version"
_SQLITE_BUSY_MS = 10_000
_PG_CONNECT_TIMEOUT_S = 5


def normalize_url(url: str) -> str:
    """A database URL SQLAlchemy can open: a bare path is a SQLite file, and
    `postgresql://` (or `postgres://`) is driven by psycopg 3.

    >>> normalize_url("/var/lib/kasset/history.db")
    'sqlite:////var/lib/kasset/history.db'
    >>> normalize_url("postgres://u@db/kasset")
    'postgresql+psycopg://u@db/kasset'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("sqlite:", "postgresql+")):
        return url
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise HistoryError(f"history URL {scheme}:// is neither sqlite: nor postgresql:")
    return "sqlite:///" + str(Path(url).resolve())


def create_history_engine(url: str) -> sa.Engine:
    """An engine for `url` (see `normalize_url`), with no schema changes."""
    full = normalize_url(url)
    try:
        parsed = sa.engine.make_url(full)
    except sa.exc.ArgumentError as error:
        raise HistoryError(f"malformed history URL: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return sa.create_engine(
        parsed,
        pool_pre_ping=True,  # a restarted server leaves dead connections in the pool
        connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
    )


def migrate(engine: sa.Engine, revision: str = HEAD) -> None:
    """Upgrades (or, to an older `revision`, downgrades) the schema, in one transaction."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        current = _current(connection)
        try:
            script = ScriptDirectory.from_config(config)
            if current is not None:
                script.get_revision(current)
            if revision != HEAD and _is_older(script, revision, current):
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
        except CommandError as error:
            raise HistoryError(
                f"history schema revision {current!r} is unknown to this kasset "
                f"(a newer version wrote it?): {error}"
            ) from None


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return _current(connection)


def _current(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": _VERSION_TABLE})
    return context.get_current_revision()


def _is_older(script: ScriptDirectory, revision: str, current: str | None) -> bool:
    if current is None or current == revision:
        return False
    return any(rev.revision == revision for rev in script.iterate_revisions(current, "base"))


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_MS / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.close()

    return engine
