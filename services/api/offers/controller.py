"""Offers: signed-in users make, list and withdraw theirs; the seller (or an administrator) accepts
one or rejects any; the buyer of an accepted offer pays through Stripe Checkout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from litestar.params import Parameter

from services.api.controllers import DomainController, Id, action, blocking_get, blocking_post, domain_service
from services.api.errors import Conflict, Forbidden, Invalid, Malformed, NotFound
from services.api.http_errors import errors
from services.api.offers.schemas import CheckoutView, OfferList, OfferRequest, OfferView
from services.api.paging import Cursor, Limit
from services.api.principal import Principal
from services.api.registrations import parse_mark
from services.api.schemas import ReviewRequest
from services.api.security import SIGNED_IN
from services.api.settings import ApiSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.offers.service import Offers
    from services.core.external.payments import Payments


def _offers(session: Session, caller: Principal, settings: ApiSettings) -> Offers:
    from services.api.offers.service import Offers  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Offers(session, caller, settings)


class OfferController(DomainController):
    path = "/offers"
    tags = ("offers",)
    security = SIGNED_IN
    dependencies, signature_namespace = domain_service("offers", _offers)

    @blocking_post(responses=errors(NotFound, Conflict, Invalid))
    def make_offer(self, data: OfferRequest, offers: Offers) -> OfferView:
        """Offer on a listed plate (at least £10, at most its asking price); one open offer per plate.
        The seller is emailed."""
        return offers.make(parse_mark(data.registration), amount_pence=data.amount_pence)

    @blocking_get(responses=errors(Malformed))
    def list_offers(
        self,
        offers: Offers,
        everyone: Annotated[bool, Parameter(query="all", description="Administrators: every offer")] = False,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> OfferList:
        """Your offers, newest first (administrators may ask for every offer with ``all=true``), a page at a
        time: pass the answer's ``next_cursor`` as ``cursor`` for the next page."""
        return offers.listing(everyone=everyone, cursor=cursor, limit=limit)

    @blocking_get("/{offer_id:int}", responses=errors(NotFound))
    def get_offer(self, offer_id: Id, offers: Offers) -> OfferView:
        """One offer: yours as its buyer, one on your plate as its seller, any as an administrator."""
        return offers.get(offer_id)

    @action("/{offer_id:int}/withdraw", responses=errors(NotFound, Conflict))
    def withdraw_offer(self, offer_id: Id, offers: Offers) -> OfferView:
        """Withdraw your open offer."""
        return offers.withdraw(offer_id)

    @action("/{offer_id:int}/accept", responses=errors(NotFound, Conflict, Forbidden))
    def accept_offer(self, offer_id: Id, offers: Offers, data: ReviewRequest | None = None) -> OfferView:
        """The seller or an administrator: accept an open offer. The plate goes under offer, every other
        open offer on it is declined, and the buyer has ``OFFER_LAPSE_DAYS`` to pay (audit-logged, emailed).
        Only one offer per plate can ever be accepted: a further accept is a 409."""
        return offers.accept(offer_id)

    @action("/{offer_id:int}/reject", responses=errors(NotFound, Conflict, Forbidden))
    def reject_offer(self, offer_id: Id, offers: Offers, data: ReviewRequest | None = None) -> OfferView:
        """The seller or an administrator: reject an open offer (audit-logged, the buyer is emailed)."""
        return offers.reject(offer_id)

    @action("/{offer_id:int}/checkout", responses=errors(NotFound, Conflict))
    def checkout_offer(self, offer_id: Id, offers: Offers, payments: Payments) -> CheckoutView:
        """The buyer of an accepted offer: a Stripe Checkout page for the offer's amount in GBP. Asking
        again while the session is open returns the same page."""
        return offers.checkout(offer_id, payments)
