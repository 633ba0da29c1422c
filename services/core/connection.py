"""Where the database is and how to log in to it, without SQLAlchemy: what a process needs to open
plain psycopg connections (the API's read path) as well as an engine (:mod:`services.core.db`).

Kept apart from the engine so that a process which only reads never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from services.core.credentials import DatabaseLogin, IamAuthToken, RotatingCredentials
from services.core.settings import DatabaseLocation, Settings, SettingsError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LAMBDA_POOL_RECYCLE_S",
    "LOCAL_POOL_RECYCLE_S",
    "conninfo_for",
    "conninfo_from_sqlalchemy_url",
    "database_credentials",
    "database_url",
    "pool_recycle_s",
]

LAMBDA_POOL_RECYCLE_S = 300
LOCAL_POOL_RECYCLE_S = 1800
CONNECT_TIMEOUT_S = 5


def database_credentials(settings: Settings, *, secrets_client: Any = None) -> DatabaseLogin | None:
    """How a deployed process logs in (see :mod:`services.core.credentials`): its own role with IAM tokens
    (``DB_USER``), or the master secret (``DB_SECRET_ARN``); ``None`` when ``DATABASE_URL`` carries the
    credentials. ``secrets_client`` is a boto3 ``secretsmanager`` client (tests pass one bound to moto)."""
    location = _location(settings)
    if location.url is not None:
        return None
    if location.user is not None:
        assert location.host is not None
        assert location.region is not None
        return IamAuthToken(location.host, location.port, location.user, location.region)
    assert location.secret_arn is not None
    return RotatingCredentials(location.secret_arn, secrets_client)


def database_url(settings: Settings, *, secrets_client: Any = None, credentials: DatabaseLogin | None = None) -> str:
    """The SQLAlchemy URL for ``settings``; on Lambda with the current login of ``credentials`` (or of
    :func:`database_credentials`) and TLS verified against the region's RDS roots. An engine given the same
    ``credentials`` logs every later connection in afresh (:func:`services.core.db.build_engine`)."""
    location = _location(settings)
    if location.url is not None:
        return location.url
    assert location.host is not None
    assert location.name is not None
    credentials = credentials or database_credentials(settings, secrets_client=secrets_client)
    assert credentials is not None
    username, password = credentials.current()
    return (
        f"postgresql+psycopg://{quote(username, safe='')}:{quote(password, safe='')}"
        f"@{location.host}:{location.port}/{quote(location.name, safe='')}{_query(location)}"
    )


def conninfo_from_sqlalchemy_url(url: str) -> str:
    """``postgresql+psycopg://...`` (the engine's URL) as a libpq connection URI."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://...")
    return "postgresql://" + rest


def conninfo_for(location: DatabaseLocation) -> str:
    """A libpq URI for ``location``; on Lambda without user and password (the caller logs each new
    connection in with its :class:`~services.core.credentials.DatabaseLogin`) and with TLS verified."""
    if location.url is not None:
        return conninfo_from_sqlalchemy_url(location.url)
    return f"postgresql://{location.host}:{location.port}/{quote(location.name or '', safe='')}{_query(location)}"


def _query(location: DatabaseLocation) -> str:
    tls = location.tls()
    return "?" + urlencode(tls, safe="/") if tls else ""


def _location(settings: Settings) -> DatabaseLocation:
    if settings.database is None:
        raise SettingsError("no database configured: set DATABASE_URL, or DB_HOST, DB_NAME and DB_SECRET_ARN")
    return settings.database


def pool_recycle_s(*, on_lambda: bool) -> int:
    """How long a pooled connection may live before it is replaced."""
    return LAMBDA_POOL_RECYCLE_S if on_lambda else LOCAL_POOL_RECYCLE_S
