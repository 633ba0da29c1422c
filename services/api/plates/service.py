"""Plate lookup and search: async functions over the API's :class:`~services.api.reads.ReadPool`.

This is the cold-start path: it imports psycopg (through the pool) and nothing of the write side.

The lookup is one round trip (the listing, the latest valuation and the latest auction result come
back in one prepared statement), which is what keeps ``GET /plates/{registration}`` close to the bare
psycopg endpoint of ``bench/bench_api_load.py``, which runs this very statement. It answers for any
valid mark: when the cached valuation is missing, stale (a comparable sale came in after it) or
older than ``VALUATION_MAX_AGE_DAYS``, the mark is valued on the spot (on a worker thread: the
valuation client blocks) and the cache refreshed with one more statement on the same pool. If the
valuation service is down, the lookup still answers, with the cached valuation marked ``stale`` or
none at all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, LiteralString

import anyio.to_thread

from services.api.errors import Invalid
from services.api.plates.schemas import LastSaleView, ListingView, PlatePage, PlateSummary, PlateView
from services.api.reads import ReadPool
from services.api.valuations.cache import (
    STORE_SQL,
    fresh,
    store_parameters,
    view_from_details,
    view_from_parameters,
)
from services.api.valuations.client import ValuationClient, ValuationUnavailable
from services.api.valuations.schemas import ValuationView
from services.core.registration import Registration

log = logging.getLogger("reggie.api.plates")

VISIBLE_STATUSES = ("listed", "under_offer")

LOOKUP_SQL: LiteralString = """
    SELECT p.id, p.status, p.asking_price_pence, p.description, p.created_at,
           v.model_version, v.estimate_pence, v.low_pence, v.high_pence, v.details, v.created_at AS valued_at,
           v.stale, s.auction_name, s.hammer_price_pence, s.sold, s.sold_on
    FROM (SELECT CAST(%(reg)s AS varchar) AS reg) AS q
    LEFT JOIN plates AS p ON p.registration = q.reg
    LEFT JOIN LATERAL (
        SELECT model_version, estimate_pence, low_pence, high_pence, details, created_at, stale
        FROM valuations WHERE registration = q.reg ORDER BY created_at DESC, id DESC LIMIT 1
    ) AS v ON true
    LEFT JOIN LATERAL (
        SELECT auction_name, hammer_price_pence, sold, sold_on
        FROM sales WHERE registration = q.reg ORDER BY sold_on DESC NULLS LAST, id DESC LIMIT 1
    ) AS s ON true
"""


def pounds(pence: int) -> str:
    return f"£{pence // 100:,}" if pence % 100 == 0 else f"£{pence / 100:,.2f}"


def _cached(registration: str, row: Any, *, stale: bool) -> ValuationView:
    return view_from_details(
        registration,
        estimate_pence=row.estimate_pence,
        low_pence=row.low_pence,
        high_pence=row.high_pence,
        model_version=row.model_version,
        details=row.details,
        valued_at=row.valued_at,
        stale=stale,
    )


async def _valuation(
    reads: ReadPool, valuations: ValuationClient, mark: Registration, row: Any, max_age: timedelta
) -> ValuationView | None:
    """The cached valuation when fresh, else one made now (and cached); the old one if that fails."""
    if row.model_version is not None and fresh(stale=row.stale, valued_at=row.valued_at, max_age=max_age):
        return _cached(mark.display, row, stale=False)
    try:
        [result] = await anyio.to_thread.run_sync(valuations.value_many, [mark.normalized])
    except ValuationUnavailable as exc:
        log.warning("valuing %s on lookup failed (%s); answering with what is cached", mark.normalized, exc)
        result = None
    if result is None or "error" in result:
        return _cached(mark.display, row, stale=True) if row.model_version is not None else None
    parameters = store_parameters(mark, result)
    stored = await reads.one(STORE_SQL, parameters)
    return view_from_parameters(mark.display, parameters, stored.created_at)


async def lookup(reads: ReadPool, valuations: ValuationClient, mark: Registration, *, max_age: timedelta) -> PlateView:
    """The plate as the platform knows it, for any valid mark: its facts, the listing if listed, a
    valuation (cached when fresh, else made now) with its drivers and comparables, the last sale."""
    row = await reads.one(LOOKUP_SQL, {"reg": mark.normalized})
    listing = None
    if row.id is not None and row.status in VISIBLE_STATUSES:
        listing = ListingView(
            id=row.id,
            status=row.status,
            asking_price_pence=row.asking_price_pence,
            description=row.description,
            listed_at=row.created_at,
        )
    valuation = await _valuation(reads, valuations, mark, row, max_age)
    last_sale = None
    if row.auction_name is not None:
        last_sale = LastSaleView(
            auction_name=row.auction_name, hammer_price_pence=row.hammer_price_pence, sold=row.sold, sold_on=row.sold_on
        )
    return PlateView(
        registration=mark.display,
        normalized=mark.normalized,
        format=mark.format.value,
        age_identifier=mark.age_identifier,
        earliest_year=mark.earliest_year,
        corrections=list(mark.corrections),
        listing=listing,
        valuation=valuation,
        last_sale=last_sale,
        explanation=_explain(mark, listing, valuation),
    )


def _explain(mark: Registration, listing: ListingView | None, valuation: ValuationView | None) -> str:
    kind = mark.format.value.replace("_", " ")
    fits = f"fits vehicles first registered from {mark.earliest_year}" if mark.earliest_year else "fits any vehicle"
    sentence = f"{mark.display} is a {kind} mark that {fits}"
    if listing is not None:
        sentence += f", listed at {pounds(listing.asking_price_pence)}"
    if valuation is not None:
        sentence += f", valued at {pounds(valuation.estimate_pence)}"
    return sentence + "."


class Sort(StrEnum):
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    REGISTRATION = "registration"


_ORDER: dict[Sort, LiteralString] = {
    Sort.NEWEST: "created_at DESC, id DESC",
    Sort.PRICE_ASC: "asking_price_pence ASC, id ASC",
    Sort.PRICE_DESC: "asking_price_pence DESC, id DESC",
    Sort.REGISTRATION: "registration ASC",
}

# Plate-speak: what a digit or letter can stand for on a plate (5 reads as S, 4 as A, 1 as I or L...).
_LOOKALIKES = {
    "A": "A4", "B": "B8", "E": "E3", "G": "G6", "I": "I1", "L": "L1", "O": "O0", "S": "S5", "T": "T7", "Z": "Z2",
    "0": "0O", "1": "1IL", "2": "2Z", "3": "3E", "4": "4A", "5": "5S", "6": "6G", "7": "7T", "8": "8B",
}  # fmt: skip
_TERM = re.compile(r"^[A-Z0-9]{1,7}$")
_PATTERN = re.compile(r"^[A-Z0-9?*]{1,7}$")


class BadSearch(Invalid):
    """A search parameter that cannot be turned into a query; the message says which and why."""

    default_code = "invalid_search"


def text_regex(q: str) -> str:
    """A PostgreSQL regex matching marks that contain ``q`` read as plate-speak (``SAM`` finds ``5AM``)."""
    term = re.sub(r"[\s\-]+", "", q).upper()
    if not _TERM.match(term):
        raise BadSearch("q must be 1 to 7 letters or digits (a word, initials or a name).")
    return "".join(f"[{_LOOKALIKES.get(ch, ch)}]" for ch in term)


def pattern_regex(pattern: str) -> str:
    """An anchored regex for a wildcard pattern: ``?`` one character, ``*`` any run (``A?1*``)."""
    compact = re.sub(r"[\s\-]+", "", pattern).upper()
    if not _PATTERN.match(compact):
        raise BadSearch("pattern must be 1 to 7 letters, digits, ? (one character) or * (any run).")
    return "^" + compact.replace("*", "[A-Z0-9]*").replace("?", "[A-Z0-9]") + "$"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str | None = None
    pattern: str | None = None
    format: str | None = None
    min_price_pence: int | None = None
    max_price_pence: int | None = None
    sort: Sort = Sort.NEWEST
    page: int = 1
    limit: int = 20


async def search(reads: ReadPool, query: SearchQuery) -> PlatePage:
    if (
        query.min_price_pence is not None
        and query.max_price_pence is not None
        and query.min_price_pence > query.max_price_pence
    ):
        raise BadSearch("min_price_pence must not exceed max_price_pence.")
    where: list[LiteralString] = ["status IN ('listed', 'under_offer')"]
    params: dict[str, Any] = {"limit": query.limit, "offset": (query.page - 1) * query.limit}
    if query.q:
        where.append("registration ~ %(q_rx)s")
        params["q_rx"] = text_regex(query.q)
    if query.pattern:
        where.append("registration ~ %(p_rx)s")
        params["p_rx"] = pattern_regex(query.pattern)
    if query.format:
        where.append("format = %(format)s")
        params["format"] = query.format
    if query.min_price_pence is not None:
        where.append("asking_price_pence >= %(min_price)s")
        params["min_price"] = query.min_price_pence
    if query.max_price_pence is not None:
        where.append("asking_price_pence <= %(max_price)s")
        params["max_price"] = query.max_price_pence
    # Only fixed fragments are joined into the statement; every value is a bound parameter.
    sql = (
        "SELECT registration, registration_display, format, status, asking_price_pence, created_at, "  # noqa: S608
        "count(*) OVER () AS total FROM plates WHERE "
        + " AND ".join(where)
        + f" ORDER BY {_ORDER[query.sort]} LIMIT %(limit)s OFFSET %(offset)s"
    )
    rows = await reads.all(sql, params)
    total = int(rows[0].total) if rows else await _count(reads, where, params)
    items = [
        PlateSummary(
            registration=r.registration_display,
            normalized=r.registration,
            format=r.format,
            status=r.status,
            asking_price_pence=r.asking_price_pence,
            listed_at=r.created_at,
        )
        for r in rows
    ]
    has_more = query.page * query.limit < total
    return PlatePage(
        items=items, page=query.page, limit=query.limit, total=total, next_page=query.page + 1 if has_more else None
    )


async def _count(reads: ReadPool, where: list[LiteralString], params: dict[str, Any]) -> int:
    # A page past the end returns no rows, so the window count is missing: count separately.
    sql = "SELECT count(*) AS total FROM plates WHERE " + " AND ".join(where)  # noqa: S608 (fixed fragments)
    return int((await reads.one(sql, params)).total)
