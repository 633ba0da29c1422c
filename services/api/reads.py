"""Single-statement reads on async psycopg connections, for the API's hottest routes.

``GET /plates/{registration}`` is what clients call most. Through the sync SQLAlchemy engine each
request paid a hop to a worker thread, a pre-ping round trip and the ORM-free but still heavy Core
execution path; here a read is one prepared statement on a connection owned by the event loop.

Why no pre-ping: a read is idempotent, so instead of a ``SELECT 1`` before every statement (a round
trip each request), a statement that fails because its connection broke (Aurora paused or failed
over while a Lambda environment was frozen, a server restart) is retried once on a fresh connection.

On deployed stages each new connection logs in through the API's
:class:`~services.core.credentials.DatabaseLogin` (its role with a freshly signed IAM token), asked on a
worker thread since the first ask builds the SDK client; a refused login is retried once when the login
says its credentials changed.

Connections belong to one event loop. uvicorn runs one loop for the process's life and Mangum reuses
one loop across Lambda invocations; should the running loop change anyway, connections made on the
old one are dropped rather than used from the wrong loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, LiteralString, NamedTuple

import psycopg
from psycopg.rows import namedtuple_row

from services.api.errors import Unavailable, first_line
from services.core.connection import conninfo_for, conninfo_from_sqlalchemy_url
from services.core.credentials import DatabaseLogin

log = logging.getLogger("reggie.api")

__all__ = ["DatabaseUnavailable", "ReadPool", "conninfo_for", "conninfo_from_sqlalchemy_url"]


class DatabaseUnavailable(Unavailable):
    """The database could not be reached or a connection broke twice (the reason says how)."""

    default_code = "database_unavailable"
    default_message = "The database is not answering right now."


class _Held(NamedTuple):
    conn: psycopg.AsyncConnection[Any]
    opened_at: float


class ReadPool:
    """At most ``size`` autocommit connections, opened on demand and kept for ``max_age_s``.

    Idle connections are reused last-in first-out, so a quiet process keeps using its warmest
    connection and the others age out.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        max_age_s: float,
        connect_timeout_s: int = 5,
        application_name: str = "reggie",
        credentials: DatabaseLogin | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a read pool needs at least one connection")
        self._conninfo = conninfo
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": connect_timeout_s,
            "application_name": application_name,
            "row_factory": namedtuple_row,
        }
        self._credentials = credentials
        self.size = size
        self.max_age_s = max_age_s
        self._idle: list[_Held] = []
        self._slots = asyncio.Semaphore(size)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def one(self, query: LiteralString, params: dict[str, Any]) -> Any:
        """The statement's only row (a named tuple); the statement must return exactly one."""
        rows = await self.all(query, params)
        if len(rows) != 1:
            raise RuntimeError(f"expected one row, got {len(rows)}")
        return rows[0]

    async def all(self, query: LiteralString, params: dict[str, Any]) -> list[Any]:
        """Every row the statement returns, retried once on a fresh connection if its connection broke."""
        for attempt in (1, 2):
            held = await self._acquire()
            broken = False
            try:
                cursor = await held.conn.execute(query, params, prepare=True)
                return await cursor.fetchall()
            except psycopg.OperationalError as exc:
                broken = held.conn.broken or held.conn.closed
                if broken and attempt == 1:
                    # Whatever broke this connection (a restart, a failover, a frozen environment)
                    # most likely broke its idle siblings too: retry on a new one, not on them.
                    log.info("a database connection broke (%s); retrying on a new one", first_line(exc))
                    await self.close()
                    continue
                raise DatabaseUnavailable(reason=first_line(exc)) from exc
            finally:
                await self._release(held, discard=broken)
        raise AssertionError("unreachable")  # pragma: no cover  (the loop returns or raises)

    def discard_connections(self) -> None:
        """Drop the idle connections without a goodbye (their sockets did not survive a SnapStart restore),
        closing the sockets synchronously; the next read opens a new one."""
        for held in self._idle:
            held.conn.pgconn.finish()
        self._idle = []

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().conn.close()

    async def _acquire(self) -> _Held:
        self._bind_to_running_loop()
        await self._slots.acquire()
        now = time.monotonic()
        while self._idle:
            held = self._idle.pop()
            if not held.conn.closed and now - held.opened_at < self.max_age_s:
                return held
            await held.conn.close()
        try:
            conn = await self._connect()
        except BaseException as exc:
            self._slots.release()
            if isinstance(exc, psycopg.OperationalError):
                raise DatabaseUnavailable(reason=first_line(exc)) from exc
            raise
        return _Held(conn, now)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            return await self._connect_as_current_user()
        except psycopg.OperationalError:
            # Rereading is a blocking SDK call (a rotated secret); it happens only after a refusal.
            if self._credentials is None or not await asyncio.to_thread(self._credentials.reread):
                raise
            return await self._connect_as_current_user()

    async def _connect_as_current_user(self) -> psycopg.AsyncConnection[Any]:
        login: dict[str, str] = {}
        if self._credentials is not None:
            login["user"], login["password"] = await asyncio.to_thread(self._credentials.current)
        return await psycopg.AsyncConnection.connect(self._conninfo, **login, **self._connect_kwargs)

    async def _release(self, held: _Held, *, discard: bool) -> None:
        try:
            if discard or held.conn.closed or held.conn.broken:
                await held.conn.close()
            else:
                self._idle.append(held)
        finally:
            self._slots.release()

    def _bind_to_running_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        if self._loop is not None:
            # Connections (and the semaphore's waiters) of another loop cannot be awaited from this
            # one; close their sockets synchronously and start afresh.
            for held in self._idle:
                held.conn.pgconn.finish()
            log.info("the event loop changed; dropped %d idle database connections", len(self._idle))
        self._idle = []
        self._slots = asyncio.Semaphore(self.size)
        self._loop = loop
