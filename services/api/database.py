"""The write side of the database: SQLAlchemy sessions, one per request, on an engine built by the
first request that writes.

The reads the API serves most (plate lookup and search) go through :mod:`services.api.reads` on
plain psycopg; SQLAlchemy, about a fifth of a second of imports, loads only when a request first asks
for a ``session`` (an offer, a claim, a valuation, a webhook). A session is a unit of work: committed
once the handler has answered, rolled back when it raised.

:func:`as_domain_error` recognises the database's own refusals wherever they surface, so the app maps
them once: a value the database will not take (a NUL byte in text, a number out of range) is the
input's fault, an unreachable database is a dependency down, and a schema behind the code (a relation,
column or function the code uses does not exist yet: a deploy whose migration has not run, the local
stack still migrating) is a 503 ``schema_behind``, never a 500.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio.to_thread
import psycopg

from services.api.errors import DomainError, Malformed, Unavailable, first_line
from services.api.lazy import Lazy
from services.api.reads import DatabaseUnavailable
from services.core.connection import database_url
from services.core.credentials import DatabaseLogin
from services.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("reggie.api")

__all__ = ["Database", "as_domain_error"]


class Database:
    """Sessions for ``settings``' database, as the API's own role (503 when there is none)."""

    def __init__(self, settings: Settings, *, credentials: DatabaseLogin | None) -> None:
        self._settings = settings
        self._credentials = credentials
        self._sessions: Lazy[sessionmaker[Session]] = Lazy(self._build)
        self._engine: Engine | None = None

    def discard_connections(self) -> None:
        """Drop the engine's pooled connections without a goodbye (their sockets did not survive a
        SnapStart restore); the engine stays, and its next session connects afresh."""
        if self._engine is not None:
            self._engine.dispose(close=False)

    def _build(self) -> sessionmaker[Session]:
        settings = self._settings
        if settings.database is None:
            raise DatabaseUnavailable("The database is not configured for this stage.")
        # The write path's imports: SQLAlchemy and the engine set-up load with the first write.
        from sqlalchemy.orm import sessionmaker  # noqa: PLC0415

        from services.core.db import build_engine  # noqa: PLC0415

        engine = build_engine(
            database_url(settings, credentials=self._credentials),
            on_lambda=settings.on_lambda,
            application_name="reggie-api",
            credentials=self._credentials,
        )
        self._engine = engine
        return sessionmaker(engine, expire_on_commit=False)

    def _open(self) -> Session:
        return self._sessions()()

    async def session(self) -> AsyncIterator[Session]:
        """The ``session`` dependency: one unit of work per request.

        Opening, committing and closing may wait on the network, so each runs on a worker thread, as
        the handlers that use the session do. Litestar throws a handler's exception in here; the
        rollback must not replace it (Litestar would answer a group of two with a 500), so a failed
        rollback is only logged.
        """
        session = await anyio.to_thread.run_sync(self._open)
        try:
            yield session
        except BaseException:
            await anyio.to_thread.run_sync(_quietly_rolled_back, session)
            raise
        try:
            await anyio.to_thread.run_sync(session.commit)
        finally:
            await anyio.to_thread.run_sync(session.close)


def _quietly_rolled_back(session: Session) -> None:
    try:
        session.rollback()
        session.close()
    except Exception:
        log.warning("rolling back a failed request's session failed too", exc_info=True)


def as_domain_error(exc: BaseException) -> DomainError | None:
    """What ``exc`` means to a client when the database raised it; ``None`` for anything else."""
    # SQLAlchemy wraps the driver's error; it can only have raised one if a write loaded it.
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.DBAPIError):
        exc = exc.orig  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    if isinstance(exc, psycopg.DataError):
        log.info("the database refused a value: %s", first_line(exc))
        return Malformed("A value in the request cannot be stored.", code="invalid_data")
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailable(reason=first_line(exc))
    if isinstance(exc, _SCHEMA_BEHIND):
        message = "The service is being updated; try again in a minute."
        return Unavailable(message, code="schema_behind", reason=first_line(exc))
    return None


_SCHEMA_BEHIND = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction)
"""What the database answers when the code is ahead of the schema."""
