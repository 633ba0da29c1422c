"""The services' database roles (revision 0004) against a real PostgreSQL: what each role may do is exactly
what the revision grants, everything else is refused, the timeouts and limits hold, and the revision
converges on roles that exist already and leaves nothing behind when it is undone.

What each role *needs* is proven elsewhere: the suite runs each service's real code as its role (the API's
tests through ``role_url("reggie_api")``, the scraper's, the worker's and the valuation function's likewise),
so a grant missing from the revision fails those tests."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import psycopg
import pytest
from alembic import command
from psycopg import errors, sql

from infra.links import PLATFORM_LINKS
from infra.registry import discover
from services.core import contract
from services.core.models import Base
from services.core.schema import REPO_ROOT, alembic_config
from services.local.postgres import EmbeddedPostgres
from tests.servers import throwaway_postgres


def _revision() -> ModuleType:
    path = REPO_ROOT / "migrations" / "versions" / "0004_database_roles.py"
    spec = importlib.util.spec_from_file_location("revision_0004", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REVISION = _revision()
ROLES: dict[str, Any] = {role.name: role for role in REVISION.ROLES}
TABLES = sorted(Base.metadata.tables)
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _row(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    row = conn.execute(query, params).fetchone()  # pyright: ignore[reportArgumentType, reportCallIssue]
    assert row is not None
    return row


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


@pytest.fixture
def connect_as(role_url: Callable[[str], str]) -> Iterator[Callable[[str], psycopg.Connection[Any]]]:
    opened: list[psycopg.Connection[Any]] = []

    def connect(role: str) -> psycopg.Connection[Any]:
        conn = psycopg.connect(_libpq(role_url(role)), autocommit=True)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def _granted(role: Any, table: str) -> set[str]:
    """The table-wide privileges the revision writes for ``role`` on ``table`` (column grants excluded)."""
    return {name for name, columns in re.findall(r"([A-Z]+)\s*(\([^)]*\))?", role.tables.get(table, "")) if not columns}


def test_every_service_that_links_the_database_has_its_role() -> None:
    linking = {spec.name for spec in discover() if "database" in spec.links}
    assert {contract.database_role(name) for name in linking} == set(ROLES)
    # The migrator alone logs in as the master user, through its own link.
    assert [spec.name for spec in discover() if "database_master" in spec.links] == ["migrator"]
    assert "database_master" in PLATFORM_LINKS


def test_every_table_is_granted_to_the_roles_that_use_it_and_names_only_real_tables() -> None:
    """A revision that adds a table must grant it; a grant on a table that does not exist fails here first."""
    named = {table for role in ROLES.values() for table in role.tables}
    assert named == set(TABLES), "every table is used by some service, and no role names an unknown table"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_holds_exactly_its_table_privileges(role: str, connect_as: Callable[[str], Any]) -> None:
    conn = connect_as("postgres")
    held = {
        table: {p for p in PRIVILEGES if _row(conn, "SELECT has_table_privilege(%s, %s, %s)", (role, table, p))[0]}
        for table in TABLES
    }
    assert held == {table: _granted(ROLES[role], table) for table in TABLES}
    assert not _row(conn, "SELECT has_table_privilege(%s, 'alembic_version', 'SELECT')", (role,))[0]
    assert not _row(conn, "SELECT has_schema_privilege(%s, 'public', 'CREATE')", (role,))[0]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_logs_in_with_its_timeouts_and_no_power_over_roles_or_databases(
    role: str, connect_as: Callable[[str], Any]
) -> None:
    expected = ROLES[role]
    conn = connect_as(role)
    assert _row(conn, "SELECT current_user")[0] == role
    assert _row(conn, "SHOW statement_timeout")[0] == expected.statement_timeout
    assert _row(conn, "SHOW idle_in_transaction_session_timeout")[0] == (expected.idle_in_transaction_session_timeout)
    attributes = (
        connect_as("postgres")
        .execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit "
            "FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        .fetchone()
    )
    assert attributes == (False, False, False, False, False, expected.connection_limit)


def test_the_api_role_cannot_change_the_schema_read_the_migrators_table_or_delete(
    connect_as: Callable[[str], Any],
) -> None:
    api = connect_as("reggie_api")
    api.execute("SELECT count(*) FROM plates")  # what it does use
    refused = [
        "CREATE TABLE stolen (id int)",
        "CREATE TEMPORARY TABLE scratch (id int)",
        "SELECT * FROM alembic_version",
        "UPDATE alembic_version SET version_num = '0001'",
        "DELETE FROM offers",
        "TRUNCATE sales",
        "INSERT INTO sales (auction_id, auction_name, lot_number, registration, registration_display, sold, source)"
        " VALUES ('x', 'x', 1, 'A1', 'A 1', false, 'x')",
        "ALTER TABLE plates ADD COLUMN hijacked int",
        "DROP TABLE audit_log",
        "CREATE ROLE intruder",
        "CREATE SCHEMA elsewhere",
    ]
    for statement in refused:
        with pytest.raises(errors.InsufficientPrivilege):
            api.execute(statement)


def test_the_valuation_role_only_reads_sales(connect_as: Callable[[str], Any]) -> None:
    valuation = connect_as("reggie_valuation")
    valuation.execute("SELECT registration, hammer_price_pence FROM sales LIMIT 1")
    for statement in (
        "SELECT * FROM valuations",
        "SELECT * FROM users",
        "SELECT * FROM plates",
        "UPDATE sales SET sold = sold",
        "INSERT INTO valuations (registration, model_version, estimate_pence, low_pence, high_pence)"
        " VALUES ('A1', 'v', 1, 1, 1)",
        "DELETE FROM sales",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            valuation.execute(statement)


def test_the_scraper_and_the_worker_touch_only_their_tables(connect_as: Callable[[str], Any]) -> None:
    scraper = connect_as("reggie_scraper")
    scraper.execute("CREATE TEMPORARY TABLE staging AS SELECT * FROM sales WITH NO DATA")  # its import does
    scraper.execute("UPDATE valuations SET comparable_sale_at = now() WHERE registration = 'ZZ1'")
    for statement in (
        "SELECT estimate_pence FROM valuations",  # only the registration, to find comparable marks
        "UPDATE valuations SET estimate_pence = 1",
        "SELECT * FROM users",
        "SELECT * FROM offers",
        "SELECT * FROM email_outbox",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            scraper.execute(statement)
    worker = connect_as("reggie_worker")
    worker.execute("SELECT id FROM email_outbox WHERE status = 'pending' LIMIT 1 FOR UPDATE SKIP LOCKED")
    for statement in (
        "SELECT * FROM audit_log",  # it writes audit rows, and reads back only their id and time
        "SELECT * FROM claims",
        "SELECT * FROM sales",
        "UPDATE users SET role = 'admin'",
        "INSERT INTO offers (plate_id, buyer_id, amount_pence) VALUES (1, 1, 1)",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            worker.execute(statement)


def test_a_scheduled_role_cannot_open_more_connections_than_its_limit(role_url: Callable[[str], str]) -> None:
    limit = ROLES["reggie_scraper"].connection_limit
    held = [psycopg.connect(_libpq(role_url("reggie_scraper"))) for _ in range(limit)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(_libpq(role_url("reggie_scraper")))
    finally:
        for conn in held:
            conn.close()


# -- the revision's life on a server of its own: roles are per server, so these do not touch the suite's --------


@pytest.fixture(scope="module")
def own_server() -> Iterator[EmbeddedPostgres]:
    with throwaway_postgres("reggie-roles-") as server:
        yield server


def _admin(server: EmbeddedPostgres, database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(server.libpq_url(database), autocommit=True)


def _roles(server: EmbeddedPostgres) -> set[str]:
    with _admin(server) as conn:
        return {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'reggie\\_%%'")}


def _new_database(server: EmbeddedPostgres, name: str) -> str:
    server.create_database(name)
    return server.url(name)


def test_on_aurora_each_role_is_given_rds_iam_and_the_downgrade_drops_the_roles(own_server: EmbeddedPostgres) -> None:
    """Where ``rds_iam`` exists (Aurora), every role becomes a member, so it logs in with IAM tokens only;
    undone on a server where no other database grants them anything, the roles are gone."""
    with _admin(own_server) as conn:
        conn.execute("CREATE ROLE rds_iam NOLOGIN")
    try:
        url = _new_database(own_server, "aurora_like")
        command.upgrade(alembic_config(url), "head")
        with _admin(own_server) as conn:
            members = {
                row[0]
                for row in conn.execute(
                    "SELECT member.rolname FROM pg_auth_members m JOIN pg_roles member ON member.oid = m.member "
                    "JOIN pg_roles granted ON granted.oid = m.roleid WHERE granted.rolname = 'rds_iam'"
                )
            }
        assert members == set(ROLES)
        command.downgrade(alembic_config(url), "0003")
        assert _roles(own_server) == set()
        with _admin(own_server, "aurora_like") as conn:  # PUBLIC may connect again, as before the revision
            assert _row(conn, "SELECT has_database_privilege('public', current_database(), 'CONNECT')")[0]
    finally:
        with _admin(own_server) as conn:
            conn.execute("DROP ROLE rds_iam")


def test_existing_roles_are_reset_to_the_revision_not_trusted(own_server: EmbeddedPostgres) -> None:
    """A role left from a restored snapshot or a hand-made grant: its extra powers go, its grants are redone."""
    first = _new_database(own_server, "restored")
    command.upgrade(alembic_config(first), "head")
    with _admin(own_server, "restored") as conn:
        conn.execute("ALTER ROLE reggie_worker CREATEDB CONNECTION LIMIT 500")
        conn.execute("GRANT pg_read_all_data TO reggie_worker")
        conn.execute("GRANT DELETE ON offers TO reggie_worker")
        conn.execute("GRANT CREATE ON SCHEMA public TO reggie_api")
        conn.execute("ALTER ROLE reggie_api SET statement_timeout = 0")
    # The same roles meet a second database (the revision runs there), and this one again after an undo.
    second = _new_database(own_server, "second")
    command.upgrade(alembic_config(second), "head")
    command.downgrade(alembic_config(first), "0003")
    assert _roles(own_server) == set(ROLES)  # kept: the second database still grants them
    with _admin(own_server, "restored") as conn:
        left = _row(conn, "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee LIKE 'reggie\\_%%'")[
            0
        ]
        assert left == 0  # nothing of theirs stays in the undone database
    command.upgrade(alembic_config(first), "head")
    with _admin(own_server, "restored") as conn:
        worker = _row(
            conn,
            "SELECT rolcreatedb, rolconnlimit, pg_has_role('reggie_worker', 'pg_read_all_data', 'MEMBER'), "
            "has_table_privilege('reggie_worker', 'offers', 'DELETE') FROM pg_roles WHERE rolname = 'reggie_worker'",
        )
        assert worker == (False, ROLES["reggie_worker"].connection_limit, False, False)
        assert not _row(conn, "SELECT has_schema_privilege('reggie_api', 'public', 'CREATE')")[0]
    with psycopg.connect(own_server.libpq_url("restored", user="reggie_api")) as api:
        assert _row(api, "SHOW statement_timeout")[0] == ROLES["reggie_api"].statement_timeout
    for url in (first, second):
        command.downgrade(alembic_config(url), "0003")
    assert _roles(own_server) == set()


def test_a_role_that_is_a_superuser_stops_the_revision_with_its_name(own_server: EmbeddedPostgres) -> None:
    with _admin(own_server) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} SUPERUSER LOGIN").format(sql.Identifier("reggie_valuation")))
    try:
        url = _new_database(own_server, "tampered")
        with pytest.raises(Exception, match="role reggie_valuation exists with superuser"):
            command.upgrade(alembic_config(url), "head")
        with _admin(own_server, "tampered") as conn:  # the whole revision rolled back
            assert _row(conn, "SELECT version_num FROM alembic_version")[0] == "0003"
    finally:
        with _admin(own_server) as conn:
            conn.execute("DROP ROLE reggie_valuation")
        assert _roles(own_server) == set()
