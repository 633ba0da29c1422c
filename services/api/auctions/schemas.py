"""Auction-event bodies: what an administrator adds, and what the scraper has made of each event."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

EventIdText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The auctioneer's EventID, as in https://dvlaauction.co.uk/Event/DownloadExcel?EventID=1234",
    ),
]


class AuctionEventRequest(Struct, kw_only=True):
    event_id: EventIdText


class AuctionEventView(Struct, kw_only=True):
    event_id: str
    status: str
    """``pending`` (fetched by the next scheduled run), ``imported`` or ``failed`` (see ``last_error``)."""
    name: str | None
    sale_date: date | None
    lots_imported: int
    rows_rejected: int
    conflicts: int
    problems: list[dict[str, Any]]
    """The first rows of the last file that could not be read, with their line."""
    last_error: str | None
    attempts: int
    last_attempt_at: datetime | None
    last_imported_at: datetime | None
    created_at: datetime


class AuctionEventAdded(Struct, kw_only=True):
    event: AuctionEventView
    added: bool
    """False when the event was already known (a failed one is put back to ``pending``, a retry)."""


class AuctionEventList(Struct, kw_only=True):
    items: list[AuctionEventView]
    next_cursor: str | None = None
    """Pass it as ``cursor`` for the next page; ``None`` on the last."""
