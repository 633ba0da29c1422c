"""The database engine: one per process, sized for where the process runs.

On Lambda each execution environment serves one request at a time, so it holds exactly one
connection (``pool_size=1, max_overflow=0``): a hundred warm environments then cost Aurora a hundred
connections, not a hundred pools. Connections are pre-pinged (Aurora Serverless may have paused or
failed over while the environment was frozen) and recycled before Aurora's idle limits bite.
Locally a normal pool serves uvicorn's threads.

Build nothing per request: :func:`get_engine` and :func:`get_sessionmaker` are cached, so a service
module may call them at import time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.settings import Settings, SettingsError, get_settings

__all__ = [
    "CONNECT_TIMEOUT_S",
    "build_engine",
    "database_url",
    "get_engine",
    "get_sessionmaker",
    "pool_recycle_s",
    "session_scope",
]

LAMBDA_POOL_RECYCLE_S = 300
LOCAL_POOL_RECYCLE_S = 1800
CONNECT_TIMEOUT_S = 5


def database_url(settings: Settings, *, secrets_client: Any = None) -> str:
    """The SQLAlchemy URL for ``settings``; on Lambda reads the credentials from Secrets Manager.

    ``secrets_client`` is a boto3 ``secretsmanager`` client (tests pass one bound to moto).
    """
    location = settings.database
    if location is None:
        raise SettingsError("no database configured: set DATABASE_URL, or DB_HOST, DB_NAME and DB_SECRET_ARN")
    if location.url is not None:
        return location.url
    assert location.secret_arn is not None
    assert location.host is not None
    assert location.name is not None
    username, password = _read_credentials(location.secret_arn, secrets_client)
    return (
        f"postgresql+psycopg://{quote(username, safe='')}:{quote(password, safe='')}"
        f"@{location.host}:{location.port}/{quote(location.name, safe='')}"
    )


def pool_recycle_s(*, on_lambda: bool) -> int:
    """How long a pooled connection may live before it is replaced."""
    return LAMBDA_POOL_RECYCLE_S if on_lambda else LOCAL_POOL_RECYCLE_S


def build_engine(url: str, *, on_lambda: bool, application_name: str = "reggie") -> Engine:
    """A new engine for ``url`` with the pool policy for Lambda or for a long-running process."""
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": application_name}
    if on_lambda:
        return create_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_pre_ping=True,
            pool_recycle=pool_recycle_s(on_lambda=True),
            connect_args=connect_args,
        )
    return create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=LOCAL_POOL_RECYCLE_S,
        connect_args=connect_args,
    )


@cache
def get_engine() -> Engine:
    """The process's engine, built from :func:`services.core.settings.get_settings` on first call."""
    settings = get_settings()
    return build_engine(database_url(settings), on_lambda=settings.on_lambda, application_name=settings.service_name)


@cache
def get_sessionmaker() -> sessionmaker[Session]:
    """Sessions bound to :func:`get_engine`; attributes stay readable after commit."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises."""
    session = (factory or get_sessionmaker())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _read_credentials(secret_arn: str, client: Any) -> tuple[str, str]:
    """User name and password from an RDS-managed secret (JSON with ``username`` and ``password``)."""
    if client is None:
        import boto3  # noqa: PLC0415 - only Lambda deployments need it, and its import costs ~100 ms

        client = boto3.client("secretsmanager")
    try:
        secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
        return str(secret["username"]), str(secret["password"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SettingsError(
            f"DB_SECRET_ARN={secret_arn!r} does not hold JSON with username and password ({exc!r})"
        ) from None
