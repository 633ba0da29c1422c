"""Offers: signed-in users make, list and withdraw theirs; administrators accept or reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from litestar.params import Parameter

from services.api.controllers import DomainController, Id, action, blocking_get, blocking_post, domain_service
from services.api.errors import Conflict, Invalid, NotFound
from services.api.http_errors import errors
from services.api.offers.schemas import OfferList, OfferRequest, OfferView
from services.api.principal import Principal
from services.api.registrations import parse_mark
from services.api.schemas import ReviewRequest
from services.api.security import SIGNED_IN, admin_only
from services.core.statuses import OfferStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.offers.service import Offers


def _offers(session: Session, caller: Principal) -> Offers:
    from services.api.offers.service import Offers  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Offers(session, caller)


class _OffersController(DomainController):
    path = "/offers"
    security = SIGNED_IN
    dependencies, signature_namespace = domain_service("offers", _offers)


class OfferController(_OffersController):
    tags = ("offers",)

    @blocking_post(responses=errors(NotFound, Conflict, Invalid))
    def make_offer(self, data: OfferRequest, offers: Offers) -> OfferView:
        """Offer on a listed plate (at least £10, at most its asking price); one open offer per plate."""
        return offers.make(parse_mark(data.registration), amount_pence=data.amount_pence)

    @blocking_get()
    def list_offers(
        self,
        offers: Offers,
        everyone: Annotated[bool, Parameter(query="all", description="Administrators: every offer")] = False,
    ) -> OfferList:
        """Your offers, newest first (administrators may ask for every offer with ``all=true``)."""
        return OfferList(items=offers.listing(everyone=everyone))

    @action("/{offer_id:int}/withdraw", responses=errors(NotFound, Conflict))
    def withdraw_offer(self, offer_id: Id, offers: Offers) -> OfferView:
        """Withdraw your open offer."""
        return offers.withdraw(offer_id)


class OfferReviewController(_OffersController):
    tags = ("offers", "admin")
    guards = (admin_only,)

    @action("/{offer_id:int}/accept", responses=errors(NotFound, Conflict))
    def accept_offer(self, offer_id: Id, offers: Offers, data: ReviewRequest | None = None) -> OfferView:
        """Administrators: accept an open offer (the plate goes under offer; audit-logged)."""
        return offers.review(offer_id, OfferStatus.ACCEPTED)

    @action("/{offer_id:int}/reject", responses=errors(NotFound, Conflict))
    def reject_offer(self, offer_id: Id, offers: Offers, data: ReviewRequest | None = None) -> OfferView:
        """Administrators: reject an open offer (audit-logged)."""
        return offers.review(offer_id, OfferStatus.REJECTED)
