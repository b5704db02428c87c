"""Fixtures of the history store's tests: a real PostgreSQL server (started once per
session, see tests/postgres.py) and a fresh store on each backend, SQLite on a real
file and PostgreSQL in a new database, so every behaviour is checked on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kasset.history.store import SqlHistoryStore, open_store
from postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer.started() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return str(tmp_path / "history" / "history.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlHistoryStore]:
    opened = open_store(database_url)
    yield opened
    opened.close()
