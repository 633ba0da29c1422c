"""The engine's pool policy, Lambda credentials from Secrets Manager (moto), and the session helper."""

from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from services.core.db import build_engine, database_url, session_scope
from services.core.models import User
from services.core.settings import SettingsError, load_settings
from services.core.tls import rds_ca_bundle

LAMBDA_ENV = {
    "STAGE": "staging",
    "SERVICE_NAME": "api",
    "DB_HOST": "writer.internal",
    "DB_NAME": "reggie",
    "DB_SECRET_ARN": "arn:placeholder",
    "AWS_LAMBDA_FUNCTION_NAME": "reggie-staging-migrator",
    "AWS_REGION": "eu-west-2",
}


def test_lambda_engine_holds_one_connection_and_pre_pings(migrated_database_url: str) -> None:
    engine = build_engine(migrated_database_url, on_lambda=True)
    try:
        pool = engine.pool
        assert pool.size() == 1  # type: ignore[attr-defined]
        assert pool._max_overflow == 0  # type: ignore[attr-defined]
        assert pool._pre_ping is True
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar() == 1
    finally:
        engine.dispose()


def test_local_engine_has_a_normal_pool(migrated_database_url: str) -> None:
    engine = build_engine(migrated_database_url, on_lambda=False)
    try:
        assert engine.pool.size() > 1  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_lambda_url_reads_credentials_from_secrets_manager() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        arn = client.create_secret(
            Name="rds-reggie", SecretString=json.dumps({"username": "reggie_admin", "password": "p@ss/word%"})
        )["ARN"]
        settings = load_settings({**LAMBDA_ENV, "DB_SECRET_ARN": arn})
        url = database_url(settings, secrets_client=client)
    ca = quote(str(rds_ca_bundle("eu-west-2")), safe="/")
    assert url == (
        f"postgresql+psycopg://reggie_admin:p%40ss%2Fword%25@writer.internal:5432/reggie?sslmode=verify-full&sslrootcert={ca}"
    )


def test_secret_without_credentials_is_a_clear_error() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-2")
        arn = client.create_secret(Name="broken", SecretString="not json")["ARN"]
        settings = load_settings({**LAMBDA_ENV, "DB_SECRET_ARN": arn})
        with pytest.raises(SettingsError, match="DB_SECRET_ARN"):
            database_url(settings, secrets_client=client)


def test_no_database_configured_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        database_url(load_settings({"STAGE": "local", "SERVICE_NAME": "api"}))


def test_session_scope_commits_or_rolls_back(migrated_database_url: str) -> None:
    engine = build_engine(migrated_database_url, on_lambda=False)
    factory = sessionmaker(engine)
    try:
        with session_scope(factory) as session:
            session.add(User(clerk_user_id="user_scope_commit"))

        def failing_unit_of_work() -> None:
            with session_scope(factory) as session:
                session.add(User(clerk_user_id="user_scope_rollback"))
                session.flush()
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            failing_unit_of_work()
        with session_scope(factory) as session:
            ids = set(session.scalars(select(User.clerk_user_id).where(User.clerk_user_id.like("user_scope_%"))))
            assert ids == {"user_scope_commit"}
            session.query(User).filter(User.clerk_user_id == "user_scope_commit").delete()
    finally:
        engine.dispose()


def test_engine_is_built_once_per_process_from_the_environment(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.core import db, settings

    monkeypatch.setenv("STAGE", "dev-test")
    monkeypatch.setenv("SERVICE_NAME", "api")
    monkeypatch.setenv("DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "reggie-dev-test-api")
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    try:
        engine = db.get_engine()
        assert db.get_engine() is engine
        assert settings.get_settings() is settings.get_settings()
        assert engine.pool.size() == 1  # type: ignore[attr-defined]  # on Lambda: one connection
        with db.session_scope() as session:
            assert session.execute(text("select current_setting('application_name')")).scalar() == "api"
    finally:
        if db.get_engine.cache_info().currsize:
            db.get_engine().dispose()
        for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
            cached.cache_clear()
