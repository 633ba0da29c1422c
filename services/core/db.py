"""The database engine: one per process, sized for where the process runs.

On Lambda each execution environment serves one request at a time, so it holds exactly one
connection (``pool_size=1, max_overflow=0``): a hundred warm environments then cost Aurora a hundred
connections, not a hundred pools. Connections are pre-pinged (Aurora Serverless may have paused or
failed over while the environment was frozen) and recycled before Aurora's idle limits bite.
Locally a normal pool serves uvicorn's threads.

On Lambda every new connection logs in through a :class:`~services.core.credentials.DatabaseLogin`
(the engine's ``do_connect`` hook): a service as its own role with an IAM token signed for that connection,
the migrator as the master user, whose rotating secret is reread (and the login retried once) when a new
connection is refused, so a process outliving a rotation keeps connecting.

Build nothing per request: :func:`get_engine` and :func:`get_sessionmaker` are cached, so a service
module may call them at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from services.core.connection import CONNECT_TIMEOUT_S, database_credentials, database_url, pool_recycle_s
from services.core.credentials import DatabaseLogin
from services.core.settings import get_settings

__all__ = [
    "CONNECT_TIMEOUT_S",
    "build_engine",
    "database_credentials",
    "database_url",
    "get_engine",
    "get_sessionmaker",
    "pool_recycle_s",
    "session_scope",
]


def build_engine(
    url: str, *, on_lambda: bool, application_name: str = "reggie", credentials: DatabaseLogin | None = None
) -> Engine:
    """A new engine for ``url`` with the pool policy for Lambda or for a long-running process; with
    ``credentials``, every new connection logs in with their current user and password."""
    engine = create_engine(
        url,
        pool_size=1 if on_lambda else 5,
        max_overflow=0 if on_lambda else 10,
        pool_pre_ping=True,
        pool_recycle=pool_recycle_s(on_lambda=on_lambda),
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": application_name},
    )
    if credentials is not None:
        event.listen(engine, "do_connect", _connect_with(credentials))
    return engine


def _connect_with(credentials: DatabaseLogin) -> Any:
    def do_connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams["user"], cparams["password"] = credentials.current()
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError:
            if not credentials.reread():
                raise
            cparams["user"], cparams["password"] = credentials.current()
            return dialect.connect(*cargs, **cparams)

    return do_connect


@cache
def get_engine() -> Engine:
    """The process's engine, built from :func:`services.core.settings.get_settings` on first call."""
    settings = get_settings()
    credentials = database_credentials(settings)
    return build_engine(
        database_url(settings, credentials=credentials),
        on_lambda=settings.on_lambda,
        application_name=settings.service_name,
        credentials=credentials,
    )


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
