"""Auction events (administrators): add an event for the scraper to fetch, list what it imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

from services.api.auctions.schemas import AuctionEventAdded, AuctionEventList, AuctionEventRequest
from services.api.controllers import DomainController, blocking_get, blocking_post, domain_service
from services.api.errors import Invalid, Malformed
from services.api.http_errors import errors
from services.api.paging import Cursor, Limit
from services.api.principal import Principal
from services.api.security import SIGNED_IN, admin_only

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.auctions.service import AuctionEvents


def _events(session: Session, caller: Principal) -> AuctionEvents:
    from services.api.auctions.service import AuctionEvents  # noqa: PLC0415 - the write path loads SQLAlchemy

    return AuctionEvents(session, caller)


class AuctionEventController(DomainController):
    path = "/auction-events"
    tags = ("auctions", "admin")
    security = SIGNED_IN
    guards = (admin_only,)
    dependencies, signature_namespace = domain_service("events", _events)

    @blocking_post(
        responses={
            **errors(Invalid),
            200: ResponseSpec(data_container=AuctionEventAdded, description="The event was already known"),
        }
    )
    def add_auction_event(self, data: AuctionEventRequest, events: AuctionEvents) -> Response[AuctionEventAdded]:
        """Administrators: add a DVLA auction event; the scraper's next run fetches its results.
        201 when new, 200 when it was already known (a failed one is put back to pending)."""
        added = events.add(data.event_id)
        return Response(added, status_code=201 if added.added else 200)

    @blocking_get(responses=errors(Malformed))
    def list_auction_events(self, events: AuctionEvents, cursor: Cursor = None, limit: Limit = 50) -> AuctionEventList:
        """Administrators: the known events, most recently added first, with each import's counts, a page at
        a time: pass the answer's ``next_cursor`` as ``cursor`` for the next page."""
        return events.listing(cursor=cursor, limit=limit)
