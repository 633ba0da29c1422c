"""The DVLA auction events the scraper fetches results for, and what happened to each.

An event is known from config (``reggie:auctionEventIds``) or added by an admin
(:func:`register_event`, which the admin route calls). Each scheduled run fetches the events
:func:`due_events` returns: those not imported yet (never fetched, results not published yet, or a
failed attempt), and imported ones still inside the re-check window, in case the auctioneer
re-publishes a corrected file. :func:`record_failure` and :func:`record_import` write the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.core.models import AuctionEvent, AuctionEventStatus

__all__ = [
    "InvalidEventId",
    "check_event_id",
    "due_events",
    "lock_event",
    "record_failure",
    "record_import",
    "record_unchanged",
    "register_event",
    "register_events",
]

_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_ERROR_CHARS = 2_000


class InvalidEventId(ValueError):
    """Not an auctioneer event id; the message says what one looks like (the API answers 422 with it)."""


def check_event_id(value: object) -> str:
    """``value`` as an event id (``1234``), or :class:`InvalidEventId`."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not _EVENT_ID.match(text):
        raise InvalidEventId(
            f"{str(value)[:40]!r} is not an auction event id: expected 1 to 32 letters, digits, '-' or '_' (like 1234)"
        )
    return text


def register_event(session: Session, event_id: object) -> tuple[AuctionEvent, bool]:
    """Make ``event_id`` known (``pending``) so the next run fetches it; returns (the event, whether
    it is new). A failed event is put back to ``pending``, so adding it again asks for a retry.
    The caller commits."""
    key = check_event_id(event_id)
    created = register_events(session, [key]) == 1
    event = session.execute(
        select(AuctionEvent).where(AuctionEvent.event_id == key).execution_options(populate_existing=True)
    ).scalar_one()
    if not created and event.status == AuctionEventStatus.FAILED:
        event.status = AuctionEventStatus.PENDING.value
        session.flush()
    return event, created


def register_events(session: Session, event_ids: Iterable[str]) -> int:
    """Add the events not known yet (config ids on each run); returns how many were new."""
    keys = sorted({check_event_id(e) for e in event_ids})
    if not keys:
        return 0
    statement = insert(AuctionEvent).values([{"event_id": k} for k in keys]).on_conflict_do_nothing()
    return len(session.execute(statement.returning(AuctionEvent.event_id)).all())


def due_events(session: Session, *, recheck: timedelta, limit: int) -> Sequence[AuctionEvent]:
    """Events to fetch now, the longest waiting first: not imported yet, or imported within ``recheck``."""
    cutoff = func.now() - recheck
    query = (
        select(AuctionEvent)
        .where(
            or_(
                AuctionEvent.status != AuctionEventStatus.IMPORTED.value,
                AuctionEvent.first_imported_at > cutoff,
            )
        )
        .order_by(AuctionEvent.last_attempt_at.asc().nulls_first(), AuctionEvent.event_id)
        .limit(limit)
    )
    return session.scalars(query).all()


def lock_event(session: Session, event_id: str) -> AuctionEvent:
    """The event's row, locked until the transaction ends (two runs never import one event at once)."""
    query = select(AuctionEvent).where(AuctionEvent.event_id == event_id).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def record_failure(session: Session, event_id: str, error: str, *, waiting: bool = False) -> None:
    """A fetch or read that did not import: count the attempt and keep the reason. An event never
    imported becomes ``failed`` (or stays ``pending`` when ``waiting``: results not published yet);
    an imported one keeps its status and data, since what is stored is still its last good file."""
    status = AuctionEventStatus.PENDING if waiting else AuctionEventStatus.FAILED
    session.execute(
        update(AuctionEvent)
        .where(AuctionEvent.event_id == event_id)
        .values(
            attempts=AuctionEvent.attempts + 1,
            last_attempt_at=func.now(),
            last_error=error[:MAX_ERROR_CHARS],
            status=case(
                (AuctionEvent.status == AuctionEventStatus.IMPORTED.value, AuctionEventStatus.IMPORTED.value),
                else_=status.value,
            ),
        )
    )


def record_unchanged(session: Session, event_id: str) -> None:
    """A fetch that found the same file as last time."""
    session.execute(
        update(AuctionEvent)
        .where(AuctionEvent.event_id == event_id)
        .values(attempts=AuctionEvent.attempts + 1, last_attempt_at=func.now(), last_error=None)
    )


def record_import(
    event: AuctionEvent,
    *,
    content_hash: str,
    name: str | None,
    sale_date: date | None,
    lots_imported: int,
    rows_rejected: int,
    conflicts: int,
    problems: list[dict[str, Any]],
    now: datetime,
) -> None:
    """A file read to the end and written: the event is ``imported`` with its counts."""
    event.status = AuctionEventStatus.IMPORTED.value
    event.content_hash = content_hash
    event.name = name or event.name
    event.sale_date = sale_date or event.sale_date
    event.lots_imported = lots_imported
    event.rows_rejected = rows_rejected
    event.conflicts = conflicts
    event.problems = problems
    event.last_error = None
    event.attempts += 1
    event.last_attempt_at = now
    event.last_imported_at = now
    event.first_imported_at = event.first_imported_at or now
