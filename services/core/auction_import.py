"""Auction results into ``sales``: one idempotent bulk write that reports conflicts and marks the
cached valuations it makes stale.

Every import (the scheduled scraper, ``python -m services.scraper import``, ``make dev``) reads its
file with :func:`services.core.dvla_results.read_results` and writes the records through
:func:`write_records`, in the caller's transaction:

* a lot not yet in ``sales`` is inserted;
* a lot already there under the same registration is updated when the file says something else
  about it (a corrected price, a re-published file) and left alone otherwise, so importing the
  same file twice changes nothing;
* a lot whose ``(auction_id, lot_number)`` already holds another registration is a
  :class:`Conflict`: reported, and the stored row is kept (two different files claiming one
  auction id is a mistake for a person to look at, not something to overwrite or hide).

What the API shows follows from ``sales`` directly (a plate's latest auction result and its
comparable sales are read from it), except cached valuations: every valuation of a mark comparable
to a written sale (same format, similar spelling, the same test
:func:`services.valuation.comparables.comparable_sales` uses) gets ``comparable_sale_at`` set, so
``valuations.stale`` is true until the valuation is refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from services.core.dvla_results import Record
from services.core.registration import InvalidRegistration, parse

__all__ = ["Conflict", "SaleRow", "SalesWrite", "insert_sales", "write_records"]

BULK_STALE_MARKS = 10_000
"""Past this many distinct sold marks in one write (a first bulk load), every cached valuation is
marked stale instead of matching each one: cheaper, and nearly all of them are comparable anyway."""
KEPT_CONFLICTS = 200
"""Conflicts returned with their details; :attr:`SalesWrite.conflict_count` counts them all."""

_COLUMNS = (
    "auction_id",
    "auction_name",
    "lot_number",
    "registration",
    "registration_display",
    "format",
    "hammer_price_pence",
    "starting_price_pence",
    "sold",
    "sold_on",
    "category",
    "source",
)
_KEY = ("auction_id", "lot_number")
_UPDATED = tuple(c for c in _COLUMNS if c not in (*_KEY, "registration"))


@dataclass(frozen=True, slots=True)
class SaleRow:
    """One auction lot, ready for ``sales`` (see :class:`services.core.models.Sale` for the meaning)."""

    auction_id: str
    auction_name: str
    lot_number: int
    registration: str
    registration_display: str
    format: str
    hammer_price_pence: int | None
    starting_price_pence: int | None
    sold: bool
    sold_on: date | None
    category: str | None
    source: str

    @classmethod
    def of(
        cls,
        *,
        auction_id: str,
        auction_name: str,
        lot_number: int,
        registration: str,
        hammer_price_pence: int | None,
        source: str,
        starting_price_pence: int | None = None,
        sold_on: date | None = None,
        category: str | None = None,
    ) -> SaleRow:
        """A row from a registration as listed; raises :class:`InvalidRegistration` for a mark the DVLA never issues."""
        mark = parse(registration)
        sold = bool(hammer_price_pence)
        return cls(
            auction_id=auction_id,
            auction_name=auction_name,
            lot_number=lot_number,
            registration=mark.normalized,
            registration_display=mark.display,
            format=mark.format.value,
            hammer_price_pence=hammer_price_pence if sold else None,
            starting_price_pence=starting_price_pence,
            sold=sold,
            sold_on=sold_on,
            category=(category or None) and category[:64],
            source=source,
        )


def sale_rows(records: Iterable[Record], source: str) -> Iterable[SaleRow]:
    """``sales`` rows from the reader's ``(auction, lot, row)`` records."""
    for auction, lot, row in records:
        mark = row.registration
        yield SaleRow(
            auction_id=auction.id,
            auction_name=auction.name,
            lot_number=lot,
            registration=mark.normalized,
            registration_display=mark.display,
            format=mark.format.value,
            hammer_price_pence=row.hammer_price_pence,
            starting_price_pence=row.starting_price_pence,
            sold=row.sold,
            sold_on=row.sold_on,
            category=row.category,
            source=source,
        )


@dataclass(frozen=True, slots=True)
class Conflict:
    """A lot number of an auction that already holds another registration in ``sales``."""

    auction_id: str
    lot_number: int
    stored: str
    incoming: str

    def __str__(self) -> str:
        return (
            f"auction {self.auction_id} lot {self.lot_number} already holds {self.stored}, "
            f"not {self.incoming}; the stored lot is kept"
        )


@dataclass(frozen=True, slots=True)
class SalesWrite:
    """What one write did to ``sales`` and ``valuations``."""

    rows: int
    inserted: int
    updated: int
    """Lots already stored under the same registration whose details changed (a corrected file)."""
    conflict_count: int
    conflicts: tuple[Conflict, ...]
    """The first :data:`KEPT_CONFLICTS`, by auction and lot."""
    stale_valuations: int
    """Cached valuations marked stale by the written sales."""

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated - self.conflict_count


def write_records(connection: Connection, records: Iterable[Record], *, source: str) -> SalesWrite:
    """Write the reader's records to ``sales`` (see the module docstring); the caller commits."""
    return insert_sales(connection, sale_rows(records, source))


def insert_sales(connection: Connection, rows: Iterable[SaleRow]) -> SalesWrite:
    """Insert new lots, update changed ones, report conflicts and mark stale valuations.

    Each ``(auction_id, lot_number)`` should come once (the reader guarantees it); of repeats one
    is kept. Runs in the caller's transaction.
    """
    raw: Any = connection.connection.driver_connection
    columns = ", ".join(_COLUMNS)
    with raw.cursor() as cursor:
        # Same column types as sales, no constraints: what conflicts is decided below, in SQL.
        cursor.execute(f"CREATE TEMPORARY TABLE sales_incoming AS SELECT {columns} FROM sales WITH NO DATA")  # noqa: S608 - fixed column names
        count = 0
        with cursor.copy(f"COPY sales_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(getattr(row, column) for column in _COLUMNS))
                count += 1
        conflicts, conflict_count = _conflicts(cursor)
        inserted, updated = _upsert(cursor)
        stale = _mark_stale_valuations(cursor)
        cursor.execute("DROP TABLE sales_incoming, sales_written")
    return SalesWrite(
        rows=count,
        inserted=inserted,
        updated=updated,
        conflict_count=conflict_count,
        conflicts=conflicts,
        stale_valuations=stale,
    )


def _conflicts(cursor: Any) -> tuple[tuple[Conflict, ...], int]:
    cursor.execute(
        "SELECT i.auction_id, i.lot_number, s.registration_display, i.registration_display, count(*) OVER () "
        "FROM sales_incoming AS i JOIN sales AS s USING (auction_id, lot_number) "
        "WHERE s.registration <> i.registration ORDER BY i.auction_id, i.lot_number LIMIT %s",
        (KEPT_CONFLICTS,),
    )
    found = cursor.fetchall()
    return tuple(Conflict(a, lot, stored, incoming) for a, lot, stored, incoming, _ in found), (
        found[0][4] if found else 0
    )


def _upsert(cursor: Any) -> tuple[int, int]:
    """(inserted, updated); what was written lands in ``sales_written`` for the staleness pass."""
    columns = ", ".join(_COLUMNS)
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    stored = ", ".join(f"sales.{c}" for c in _UPDATED)
    incoming = ", ".join(f"EXCLUDED.{c}" for c in _UPDATED)
    cursor.execute("CREATE TEMPORARY TABLE sales_written (inserted bool, registration text, format text, sold bool)")
    cursor.execute(
        f"WITH written AS ("  # noqa: S608 - fixed column names
        f" INSERT INTO sales ({columns})"
        f" SELECT DISTINCT ON (auction_id, lot_number) {columns} FROM sales_incoming ORDER BY auction_id, lot_number"
        f" ON CONFLICT (auction_id, lot_number) DO UPDATE SET {assignments}, imported_at = now()"
        f" WHERE sales.registration = EXCLUDED.registration AND ({stored}) IS DISTINCT FROM ({incoming})"
        f" RETURNING xmax = 0 AS inserted, registration, format, sold"
        f") INSERT INTO sales_written SELECT * FROM written"
    )
    cursor.execute("SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM sales_written")
    inserted, updated = cursor.fetchone()
    return int(inserted), int(updated)


def _mark_stale_valuations(cursor: Any) -> int:
    """Mark the cached valuations of marks comparable to a written sale; returns how many."""
    cursor.execute("SELECT count(DISTINCT registration) FROM sales_written WHERE sold")
    (marks,) = cursor.fetchone()
    if not marks:
        return 0
    if marks > BULK_STALE_MARKS:
        cursor.execute("UPDATE valuations SET comparable_sale_at = clock_timestamp()")
        return int(cursor.rowcount)
    # Comparable as in the comparables lookup: pg_trgm similarity at least pg_trgm.similarity_threshold
    # (what its % operator tests). Counted as a hash join on shared trigrams rather than a % join
    # on a trigram index: on short marks every index probe walks the long posting lists of common
    # trigrams ("  a"), about 7 ms each, where this takes a few hundred ms for a whole event. The
    # arithmetic is in real, as pg_trgm's own, so a pair at exactly the threshold counts. The
    # format is checked here, since valuations do not store it.
    cursor.execute(
        "WITH sold AS (SELECT DISTINCT registration, format FROM sales_written WHERE sold), "
        "w AS (SELECT registration, format, cardinality(show_trgm(registration)) AS n, "
        "unnest(show_trgm(registration)) AS t FROM sold), "
        "v AS (SELECT DISTINCT registration FROM valuations), "
        "vt AS (SELECT registration, cardinality(show_trgm(registration)) AS n, "
        "unnest(show_trgm(registration)) AS t FROM v) "
        "SELECT DISTINCT vt.registration, w.format FROM w JOIN vt USING (t) "
        "GROUP BY vt.registration, w.registration, w.format, vt.n, w.n "
        "HAVING CAST(count(*) AS real) / CAST(vt.n + w.n - count(*) AS real) >= show_limit()"
    )
    comparable = sorted({mark for mark, plate_format in cursor.fetchall() if _format(mark) == plate_format})
    if not comparable:
        return 0
    cursor.execute(
        "UPDATE valuations SET comparable_sale_at = clock_timestamp() WHERE registration = ANY(%s)", (comparable,)
    )
    return int(cursor.rowcount)


def _format(mark: str) -> str | None:
    try:
        return parse(mark).format.value
    except InvalidRegistration:
        return None
