"""Listings: the approved owner lists a plate, edits its price, withdraws it and sees its offers; an
administrator takes a listing down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import patch

from services.api.controllers import DomainController, Id, action, blocking_get, blocking_post, domain_service
from services.api.errors import Conflict, Forbidden, Invalid, NotFound
from services.api.http_errors import errors
from services.api.listings.schemas import ListingChange, ListingList, ListingOffers, ListingRequest, ListingView
from services.api.principal import Principal
from services.api.registrations import parse_mark
from services.api.security import SIGNED_IN, admin_only

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.listings.service import Listings


def _listings(session: Session, caller: Principal) -> Listings:
    from services.api.listings.service import Listings  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Listings(session, caller)


class _ListingsController(DomainController):
    path = "/listings"
    security = SIGNED_IN
    dependencies, signature_namespace = domain_service("listings", _listings)


class ListingController(_ListingsController):
    tags = ("listings",)

    @blocking_post(responses=errors(Forbidden, Conflict, Invalid))
    def create_listing(self, data: ListingRequest, listings: Listings) -> ListingView:
        """List a plate for sale: only the user whose claim to it was approved (audit-logged)."""
        return listings.create(
            parse_mark(data.registration), asking_price_pence=data.asking_price_pence, description=data.description
        )

    @blocking_get()
    def list_listings(self, listings: Listings) -> ListingList:
        """Your listings, most recently changed first."""
        return ListingList(items=listings.mine())

    @blocking_get("/{listing_id:int}/offers", responses=errors(NotFound))
    def listing_offers(self, listing_id: Id, listings: Listings) -> ListingOffers:
        """Your listing and every offer on it, newest first (administrators: any listing)."""
        return listings.offers(listing_id)

    @patch("/{listing_id:int}", sync_to_thread=True, responses=errors(NotFound, Conflict))
    def change_listing(self, listing_id: Id, data: ListingChange, listings: Listings) -> ListingView:
        """Change the asking price or description while listed or under offer."""
        return listings.change(listing_id, data)

    @action("/{listing_id:int}/withdraw", responses=errors(NotFound, Conflict))
    def withdraw_listing(self, listing_id: Id, listings: Listings) -> ListingView:
        """Take your listing down (open offers are declined); not while an accepted offer awaits payment."""
        return listings.withdraw(listing_id)


class ListingAdminController(_ListingsController):
    tags = ("listings", "admin")
    guards = (admin_only,)

    @action("/{listing_id:int}/unlist", responses=errors(NotFound, Conflict))
    def unlist_listing(self, listing_id: Id, listings: Listings) -> ListingView:
        """Administrators: take any listing down; its open and unpaid accepted offers are declined."""
        return listings.unlist(listing_id)
