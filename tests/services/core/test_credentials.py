"""Rotating database credentials: the secret (moto's Secrets Manager) read once, reread at most every
interval, and a real rotation under a live engine and read pool (a password-checked PostgreSQL role)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from services.api.reads import DatabaseUnavailable, ReadPool
from services.core.credentials import RotatingCredentials
from services.core.db import build_engine, database_credentials, database_url
from services.core.settings import SettingsError, load_settings
from services.local.postgres import EmbeddedPostgres

ROLE = "rotating_app"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingClient:
    """A Secrets Manager client (moto's) that counts reads."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reads = 0

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.reads += 1
        return self.client.get_secret_value(**kwargs)


@dataclass
class Secret:
    client: CountingClient
    arn: str

    def put(self, password: str, username: str = ROLE) -> None:
        self.client.client.put_secret_value(
            SecretId=self.arn, SecretString=json.dumps({"username": username, "password": password})
        )


@pytest.fixture
def secret() -> Iterator[Secret]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        arn = client.create_secret(Name="rds-reggie", SecretString=json.dumps({"username": ROLE, "password": "first"}))[
            "ARN"
        ]
        yield Secret(CountingClient(client), arn)


def test_the_secret_is_read_once_and_reread_at_most_every_interval(secret: Secret) -> None:
    clock = Clock()
    credentials = RotatingCredentials(secret.arn, secret.client, reread_interval_s=30, clock=clock)
    assert credentials.current() == (ROLE, "first")
    assert credentials.current() == (ROLE, "first")
    assert secret.client.reads == 1
    secret.put("second")
    clock.now += 10
    assert credentials.reread() is False  # too soon after the last read: no call at all
    assert (secret.client.reads, credentials.current()) == (1, (ROLE, "first"))
    clock.now += 25
    assert credentials.reread() is True
    assert (secret.client.reads, credentials.current()) == (2, (ROLE, "second"))
    clock.now += 31
    assert credentials.reread() is False  # read again, unchanged
    assert secret.client.reads == 3


def test_a_secret_without_a_password_is_a_clear_error(secret: Secret) -> None:
    secret.client.client.put_secret_value(SecretId=secret.arn, SecretString=json.dumps({"username": ROLE}))
    with pytest.raises(SettingsError, match="does not hold JSON with username and password"):
        RotatingCredentials(secret.arn, secret.client).current()


def test_deployed_settings_get_rotating_credentials_and_local_ones_none(secret: Secret) -> None:
    deployed = load_settings(
        {
            "STAGE": "staging",
            "SERVICE_NAME": "api",
            "DB_HOST": "writer.internal",
            "DB_NAME": "reggie",
            "DB_SECRET_ARN": secret.arn,
            "AWS_LAMBDA_FUNCTION_NAME": "reggie-staging-migrator",
            "AWS_REGION": "eu-west-2",
        }
    )
    credentials = database_credentials(deployed, secrets_client=secret.client)
    assert isinstance(credentials, RotatingCredentials)
    assert database_url(deployed, credentials=credentials).startswith(
        f"postgresql+psycopg://{ROLE}:first@writer.internal:5432/reggie?sslmode=verify-full&sslrootcert="
    )
    assert secret.client.reads == 1  # the URL and the engine share one read
    local = load_settings({"STAGE": "local", "SERVICE_NAME": "api", "DATABASE_URL": "postgresql+psycopg://u@h/d"})
    assert database_credentials(local) is None


@pytest.fixture
def password_checked_role(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """A login role whose password PostgreSQL really checks (the test server trusts everyone else);
    yields its connection URL without a password."""
    hba = postgres_server.data / "pg_hba.conf"
    original = hba.read_text()
    rule = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
    admin = psycopg.connect(postgres_server.libpq_url(), autocommit=True)
    try:
        admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'first'")
        hba.write_text(rule + original)  # first match wins: only this role is checked
        admin.execute("SELECT pg_reload_conf()")
        yield f"postgresql+psycopg://{ROLE}@{postgres_server.host}:{postgres_server.port}/postgres"
    finally:
        hba.write_text(original)
        admin.execute("SELECT pg_reload_conf()")
        admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
        admin.close()


def _rotate(postgres_server: EmbeddedPostgres, secret: Secret, password: str, *, in_secret: bool = True) -> None:
    with psycopg.connect(postgres_server.libpq_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password)))
    if in_secret:
        secret.put(password)


def test_the_engine_reconnects_after_a_rotation(
    password_checked_role: str, postgres_server: EmbeddedPostgres, secret: Secret
) -> None:
    clock = Clock()
    credentials = RotatingCredentials(secret.arn, secret.client, clock=clock)
    engine = build_engine(password_checked_role, on_lambda=True, credentials=credentials)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == ROLE
        _rotate(postgres_server, secret, "second")
        engine.dispose()  # the next statement needs a new connection, as after pool_recycle
        clock.now += 60
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == ROLE
        assert credentials.current() == (ROLE, "second")

        # A refusal that a fresh read does not fix is reported, not retried forever.
        _rotate(postgres_server, secret, "third", in_secret=False)
        engine.dispose()
        clock.now += 60
        with pytest.raises(OperationalError, match="password authentication failed"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_the_read_pool_reconnects_after_a_rotation(
    password_checked_role: str, postgres_server: EmbeddedPostgres, secret: Secret
) -> None:
    clock = Clock()
    credentials = RotatingCredentials(secret.arn, secret.client, clock=clock)
    conninfo = password_checked_role.replace("postgresql+psycopg://", "postgresql://")
    pool = ReadPool(conninfo, size=1, max_age_s=0, connect_timeout_s=2, credentials=credentials)

    async def whoami() -> str:
        return (await pool.one("SELECT current_user AS who", {})).who

    async def scenario() -> None:
        assert await whoami() == ROLE
        _rotate(postgres_server, secret, "second")
        clock.now += 60
        assert await whoami() == ROLE  # max_age_s=0: a new connection, refused once, then let in
        assert secret.client.reads == 2
        _rotate(postgres_server, secret, "third", in_secret=False)
        clock.now += 60
        with pytest.raises(DatabaseUnavailable, match="password authentication failed"):
            await whoami()
        await pool.close()

    asyncio.run(scenario())
