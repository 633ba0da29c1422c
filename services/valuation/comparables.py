"""Comparable past sales of registrations, from the ``sales`` table: what the valuation function returns
with each valuation.

Comparable means sold, same format, and close in spelling: first the mark itself if it sold before, then
the marks most similar by trigram similarity, so ``JAM 35`` finds ``JAM 353`` and other ``JAM`` numbers.
The filter is ``pg_trgm``'s ``%`` operator (similarity above the server's ``pg_trgm.similarity_threshold``,
0.3 by default), which the GIN index on ``sales.registration`` serves, so the lookup stays fast as
``sales`` grows. A whole batch is one statement (a lateral join over the marks) on plain psycopg: the
image has no SQLAlchemy.

:class:`SalesReader` is the function's way to the database: one autocommit connection per execution
environment, opened on first use (psycopg loads then, not at cold start) and logged in with the database
secret's current credentials. A connection that broke (Aurora paused or failed over while the environment
was frozen) is replaced once; a database that does not answer makes the lookup return ``None``, and the
valuations go out without comparables rather than not at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, LiteralString

from services.core.connection import CONNECT_TIMEOUT_S, conninfo_for, database_credentials
from services.core.credentials import DatabaseLogin, QuickSecretsClient
from services.core.registration import InvalidRegistration, Registration, parse
from services.core.settings import Settings
from services.core.valuation_wire import Comparable

if TYPE_CHECKING:
    import psycopg

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "SalesReader", "comparable_sales", "comparable_sales_many"]

log = logging.getLogger("reggie.valuation")

DEFAULT_LIMIT = 5
MAX_LIMIT = 50

_COMPARABLES: LiteralString = """
SELECT q.position, s.registration_display, s.hammer_price_pence, s.auction_name, s.auction_id,
       s.lot_number, s.sold_on, s.similarity
FROM unnest(%(marks)s::text[], %(formats)s::text[]) WITH ORDINALITY AS q (mark, format, position)
CROSS JOIN LATERAL (
    SELECT sale.registration_display, sale.hammer_price_pence, sale.auction_name, sale.auction_id,
           sale.lot_number, sale.sold_on, similarity(sale.registration, q.mark) AS similarity,
           row_number() OVER (
               ORDER BY sale.registration = q.mark DESC, similarity(sale.registration, q.mark) DESC,
                        sale.sold_on DESC, sale.id DESC
           ) AS rank
    FROM sales AS sale
    WHERE sale.sold AND sale.hammer_price_pence IS NOT NULL AND sale.format = q.format
      AND sale.registration %% q.mark
    ORDER BY rank
    LIMIT %(limit)s
) AS s
ORDER BY q.position, s.rank
"""


def comparable_sales_many(
    connection: psycopg.Connection[Any], marks: Sequence[Registration], limit: int = DEFAULT_LIMIT
) -> list[list[Comparable]]:
    """Up to ``limit`` comparable sales of each mark, most alike first, in the order of ``marks``."""
    found: list[list[Comparable]] = [[] for _ in marks]
    limit = min(limit, MAX_LIMIT)
    if not marks or limit <= 0:
        return found
    params = {
        "marks": [mark.normalized for mark in marks],
        "formats": [mark.format.value for mark in marks],
        "limit": limit,
    }
    for position, shown, pence, auction, auction_id, lot, sold_on, similarity in connection.execute(
        _COMPARABLES, params
    ).fetchall():
        found[position - 1].append(
            Comparable(
                registration=shown,
                hammer_price_pence=int(pence),
                auction=auction,
                auction_id=auction_id,
                lot=int(lot),
                sold_on=sold_on.isoformat() if isinstance(sold_on, date) else None,
                similarity=round(float(similarity), 3),
            )
        )
    return found


def comparable_sales(
    connection: psycopg.Connection[Any], registration: str, limit: int = DEFAULT_LIMIT
) -> list[Comparable]:
    """Up to ``limit`` past sales like ``registration`` (typed any way), most alike first; ``[]`` for an
    invalid mark."""
    try:
        mark = parse(registration)
    except InvalidRegistration:
        return []
    return comparable_sales_many(connection, [mark], limit)[0]


class SalesReader:
    """Reads comparables over one autocommit connection, opened on first use and replaced when it breaks."""

    def __init__(
        self,
        conninfo: str,
        *,
        credentials: DatabaseLogin | None = None,
        connect_timeout_s: int = CONNECT_TIMEOUT_S,
        application_name: str = "reggie-valuation",
    ) -> None:
        self._conninfo = conninfo
        self._credentials = credentials
        self._options: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": connect_timeout_s,
            "application_name": application_name,
        }
        self._connection: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings) -> SalesReader | None:
        """The reader of ``settings``' database (``None`` when the service has none)."""
        if settings.database is None:
            return None
        credentials = database_credentials(settings, secrets_client=QuickSecretsClient())
        return cls(conninfo_for(settings.database), credentials=credentials)

    def comparables(self, marks: Sequence[Registration], limit: int = DEFAULT_LIMIT) -> list[list[Comparable]] | None:
        """:func:`comparable_sales_many` on this reader's connection, or ``None`` when the database cannot
        be reached or read (said in the log, never raised: the valuations still go out)."""
        import psycopg  # noqa: PLC0415 - loaded with the first lookup, not at cold start

        with self._lock:
            for attempt in (1, 2):
                try:
                    return comparable_sales_many(self._open(), marks, limit)
                except psycopg.OperationalError as exc:
                    self._drop()
                    if attempt == 1:
                        log.info("reading comparables failed (%s); retrying on a new connection", _first_line(exc))
                        continue
                    log.warning("comparables unavailable: %s", _first_line(exc))
                except psycopg.Error as exc:
                    log.error("comparables query failed: %s", _first_line(exc))
                    return None
        return None

    def reset(self) -> None:
        """Forget the connection (closed without a goodbye: its socket may be long dead)."""
        with self._lock:
            self._drop()

    def _open(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed or self._connection.broken:
            self._drop()
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg  # noqa: PLC0415

        def attempt() -> psycopg.Connection[Any]:
            login: dict[str, str] = {}
            if self._credentials is not None:
                login["user"], login["password"] = self._credentials.current()
            return psycopg.Connection.connect(self._conninfo, **login, **self._options)

        try:
            return attempt()
        except psycopg.OperationalError:
            # A rotated password refuses the login: reread the secret (at most every 30 s) and try once more.
            if self._credentials is None or not self._credentials.reread():
                raise
            return attempt()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            connection.pgconn.finish()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
