"""Auction events for administrators: add one for the scraper to fetch, and see how each import went.

Adding only registers the event (``pending``): the scraper's next scheduled run fetches it (or invoke
the scraper with ``{"event_id": "<id>"}`` to fetch it now). Adding a failed event again asks for a retry."""

from __future__ import annotations

from sqlalchemy import select

from services.api.accounts import CallerSession, audit
from services.api.auctions.schemas import AuctionEventAdded, AuctionEventList, AuctionEventView
from services.api.errors import Invalid
from services.api.paging import Paging
from services.core.auction_events import InvalidEventId, register_event
from services.core.models import AuctionEvent

EVENTS = Paging("auction_events", AuctionEvent.created_at, AuctionEvent.event_id, key_type=str)


def event_view(event: AuctionEvent) -> AuctionEventView:
    return AuctionEventView(
        event_id=event.event_id,
        status=event.status,
        name=event.name,
        sale_date=event.sale_date,
        lots_imported=event.lots_imported,
        rows_rejected=event.rows_rejected,
        conflicts=event.conflicts,
        problems=event.problems or [],
        last_error=event.last_error,
        attempts=event.attempts,
        last_attempt_at=event.last_attempt_at,
        last_imported_at=event.last_imported_at,
        created_at=event.created_at,
    )


class AuctionEvents(CallerSession):
    def add(self, event_id: str) -> AuctionEventAdded:
        """Register ``event_id`` for the scraper (audit-logged); already known is not an error."""
        self.require_admin()
        try:
            event, added = register_event(self.session, event_id)
        except InvalidEventId as exc:
            raise Invalid(str(exc), code="invalid_event_id") from None
        audit(
            self.session,
            actor_id=self.member_id,
            action="auction_event.add",
            target_type="auction_event",
            target_id=event.event_id,
            added=added,
        )
        self.session.flush()
        self.session.refresh(event)
        return AuctionEventAdded(event=event_view(event), added=added)

    def listing(self, *, cursor: str | None, limit: int) -> AuctionEventList:
        """A page of the events, the most recently added first."""
        self.require_admin()
        rows = self.session.scalars(EVENTS.select(select(AuctionEvent), cursor=cursor, limit=limit)).all()
        page = EVENTS.page(rows, limit=limit)
        return AuctionEventList(items=[event_view(event) for event in page.rows], next_cursor=page.next_cursor)
