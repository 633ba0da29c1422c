"""database roles: one login role per service, granted exactly what its code does; Clerk events in order

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 10:00:00.000000

* ``reggie_api``, ``reggie_scraper``, ``reggie_valuation``, ``reggie_worker``: one login role per service
  that links the database (``services.core.contract.database_role``), with the privileges in :data:`ROLES`
  and nothing else: no DDL (``CREATE`` on the schema is revoked from everyone), no ``alembic_version``, no
  table the service does not use, no ``DELETE`` anywhere (no service deletes rows). :data:`ROLES` is the one
  written record of what each service may do: the test suite runs each service's real code as its role (a
  missing grant fails those tests) and ``tests/migrations/test_database_roles.py`` checks what each is
  refused. A later revision that adds a table grants it there to the roles whose code uses it.
* Each role has a ``statement_timeout`` (a runaway or blocked statement is cancelled instead of holding a
  connection and its locks) and an ``idle_in_transaction_session_timeout`` (a transaction left open, a
  crashed request or a frozen Lambda environment, releases its locks), set with ``ALTER ROLE ... SET``; the
  scheduled services have a connection limit as well. The migrator keeps logging in as the master user.
* On Aurora each role is granted ``rds_iam``, so it logs in with IAM authentication tokens only (the
  functions' policies allow ``rds-db:connect`` as their own role); where ``rds_iam`` does not exist (a local
  PostgreSQL) that grant is skipped and the local server's ``pg_hba.conf`` decides (trust on loopback).
* Roles are per cluster, not per database, so a role may exist already: a database restored from a
  snapshot, a second database on the same server (the tests), a re-run after a downgrade. An existing role is
  reset to what this revision says (attributes, settings, memberships, privileges in this database) rather
  than trusted; one that is a superuser or bypasses row security cannot be reset by a non-superuser and stops
  the revision with its name.
* ``CONNECT`` and ``TEMPORARY`` on the database are revoked from ``PUBLIC`` and granted to the roles that
  need them (the scraper stages an import in a temporary table).
* ``users.clerk_event_at``: when Clerk produced the last event applied to the user, so a late delivery of an
  older event (a retried ``user.updated`` after ``user.deleted``) changes nothing.

The downgrade revokes everything granted here and drops each role, unless another database of the same
server still grants it something (then it stays, with nothing in this one).

Expand only: the previous release logs in as the master user, which none of this touches.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WRITE = "SELECT, INSERT, UPDATE"
"""Read, add and change rows; ``SELECT`` also serves ``RETURNING`` and ``FOR UPDATE`` (which needs ``UPDATE``)."""


@dataclass(frozen=True)
class Role:
    name: str
    tables: Mapping[str, str]
    """Table to the privileges as ``GRANT`` takes them (column lists where a table is touched narrowly)."""
    statement_timeout: str
    idle_in_transaction_session_timeout: str
    """Both as PostgreSQL shows them (``5s``, ``2min``), so what a session reports compares equal."""
    connection_limit: int = -1
    """-1: no limit of its own (the API and the valuation function are bounded by their reserved concurrency)."""
    temporary: bool = False
    """May create temporary tables."""


ROLES: tuple[Role, ...] = (
    # The public API (services/api): every marketplace table it reads and writes, the sales it shows with a
    # plate, the valuations it caches. 5 s per statement, far above any of its reads; a transaction may stay
    # open across the request's calls to Stripe, R2, the DVLA and the valuation function, all inside the
    # function's 29 s, so 30 s idle means the request is gone.
    Role(
        name="reggie_api",
        tables={
            "users": _WRITE,
            "plates": _WRITE,
            "offers": _WRITE,
            "claims": _WRITE,
            "claim_documents": _WRITE,
            "valuations": _WRITE,
            "payment_issues": _WRITE,
            "auction_events": "SELECT, INSERT",
            "audit_log": "SELECT, INSERT",
            "email_outbox": "SELECT, INSERT",
            "processed_webhook_events": "SELECT, INSERT",
            "sales": "SELECT",
        },
        statement_timeout="5s",
        idle_in_transaction_session_timeout="30s",
    ),
    # The auction-results import (services/scraper, services/core/auction_import.py and auction_events.py):
    # upserts sales through a temporary staging table, records each event's outcome, and marks the cached
    # valuations of marks comparable to what sold (reading their registration, writing comparable_sale_at).
    # A results file is imported in one statement; parsing it runs inside the transaction.
    Role(
        name="reggie_scraper",
        tables={
            "sales": _WRITE,
            "auction_events": _WRITE,
            "valuations": "SELECT (registration), UPDATE (comparable_sale_at)",
        },
        statement_timeout="2min",
        idle_in_transaction_session_timeout="5min",
        connection_limit=4,  # one weekly run on one connection, a manual import beside it
        temporary=True,
    ),
    # The valuation function (services/valuation/comparables.py): comparable past sales, nothing else. A
    # lookup that takes longer is abandoned (the valuations go out without comparables).
    Role(
        name="reggie_valuation",
        tables={"sales": "SELECT"},
        statement_timeout="5s",
        idle_in_transaction_session_timeout="10s",
    ),
    # The worker (services/worker, services/core/offers.py lapse_due and outbox.py send_due): lapses accepted
    # offers unpaid past their deadline (the offer, its plate, an audit row, the buyer's email) and sends
    # the outbox, each email under its row lock while Resend answers (10 s at most).
    Role(
        name="reggie_worker",
        tables={
            "offers": "SELECT, UPDATE",
            "plates": "SELECT, UPDATE",
            "email_outbox": _WRITE,
            "users": "SELECT",
            "audit_log": "SELECT (id, created_at), INSERT",
        },
        statement_timeout="10s",
        idle_in_transaction_session_timeout="30s",
        connection_limit=6,  # two overlapping runs, and the local stack's loop
    ),
)

_IAM_ROLE = "rds_iam"
"""Aurora's role that makes a member log in with IAM authentication tokens (and not with a password)."""


def _do(body: str) -> None:
    op.execute(f"DO $do$ BEGIN {body} END $do$")


def _on_database(privileges: str, grantee: str, *, grant: bool) -> None:
    verb, preposition = ("GRANT", "TO") if grant else ("REVOKE", "FROM")
    _do(f"EXECUTE format('{verb} {privileges} ON DATABASE %I {preposition} {grantee}', current_database());")


def _create_or_reset(role: Role) -> None:
    name = role.name
    _do(
        f"""
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}') THEN
            CREATE ROLE {name} LOGIN;
        ELSIF EXISTS (
            SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}' AND (rolsuper OR rolbypassrls OR rolreplication)
        ) THEN
            RAISE EXCEPTION 'role {name} exists with superuser, replication or bypassrls: a superuser must '
                'drop it (or run ALTER ROLE {name} NOSUPERUSER NOREPLICATION NOBYPASSRLS) before this migration';
        END IF;
        """  # noqa: S608 - names and values here are this module's constants
    )
    op.execute(f"ALTER ROLE {name} WITH LOGIN NOCREATEDB NOCREATEROLE CONNECTION LIMIT {role.connection_limit}")
    op.execute(f"ALTER ROLE {name} SET statement_timeout = '{role.statement_timeout}'")
    op.execute(
        f"ALTER ROLE {name} SET idle_in_transaction_session_timeout = '{role.idle_in_transaction_session_timeout}'"
    )
    # Memberships it may have been given would lend it their privileges (all but rds_iam, granted below).
    _do(
        f"""
        DECLARE member_of record;
        BEGIN
            FOR member_of IN
                SELECT granted.rolname FROM pg_catalog.pg_auth_members AS m
                JOIN pg_catalog.pg_roles AS granted ON granted.oid = m.roleid
                JOIN pg_catalog.pg_roles AS member ON member.oid = m.member
                WHERE member.rolname = '{name}' AND granted.rolname <> '{_IAM_ROLE}'
            LOOP
                EXECUTE format('REVOKE %I FROM {name}', member_of.rolname);
            END LOOP;
        END;
        """  # noqa: S608 - constants
    )
    _revoke_everything(name)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    _on_database("CONNECT, TEMPORARY" if role.temporary else "CONNECT", name, grant=True)
    for table, privileges in role.tables.items():
        op.execute(f"GRANT {privileges} ON TABLE {table} TO {name}")
    _do(
        f"""
        IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{_IAM_ROLE}') THEN
            GRANT {_IAM_ROLE} TO {name};
        END IF;
        """
    )


def _revoke_everything(name: str) -> None:
    """What ``name`` holds in this database: on every table (column grants go with them), sequence and
    function of the schema, the schema itself and the database."""
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {name}")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {name}")
    _on_database("ALL", name, grant=False)


def upgrade() -> None:
    op.add_column("users", sa.Column("clerk_event_at", sa.DateTime(timezone=True), nullable=True))
    # PostgreSQL 15 and later no longer let PUBLIC create in the public schema; older servers and schemas
    # carried over from them still do.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    _on_database("CONNECT, TEMPORARY", "PUBLIC", grant=False)
    for role in ROLES:
        _create_or_reset(role)


def downgrade() -> None:
    for role in ROLES:
        name = role.name
        _do(
            f"""
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{name}') THEN
                REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name};
                REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {name};
                REVOKE ALL ON SCHEMA public FROM {name};
                EXECUTE format('REVOKE ALL ON DATABASE %I FROM {name}', current_database());
                BEGIN
                    DROP ROLE {name};
                EXCEPTION WHEN dependent_objects_still_exist THEN
                    RAISE NOTICE 'role {name} kept: another database of this server still grants it privileges';
                END;
            END IF;
            """  # noqa: S608 - constants
        )
    _on_database("CONNECT, TEMPORARY", "PUBLIC", grant=True)
    op.drop_column("users", "clerk_event_at")
