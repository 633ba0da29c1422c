"""Offers: signed-in users make, list and withdraw theirs; administrators accept or reject."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import Parameter

from services.api import offers
from services.api.context import BEARER, admin, deps_of, signed_in, user_id
from services.api.routes.common import AUTH, errors
from services.api.routes.plates import parse_or_422
from services.api.schemas import OfferList, OfferRequest, OfferView, ReviewRequest
from services.core.models import OfferStatus

Id = Annotated[int, Parameter(ge=1, le=2**63 - 1)]


@post("/offers", sync_to_thread=True, tags=["offers"], security=BEARER, responses=errors(*AUTH, 404, 409, 422))
def make_offer(request: Request[Any, Any, Any], data: OfferRequest) -> OfferView:
    """Offer on a listed plate (at least £10, at most its asking price); one open offer per plate."""
    principal = signed_in(request)
    mark = parse_or_422(data.registration)
    with deps_of(request).session() as session:
        return offers.make_offer(
            session, buyer_id=user_id(session, principal), mark=mark, amount_pence=data.amount_pence
        )


@get("/offers", sync_to_thread=True, tags=["offers"], security=BEARER, responses=errors(*AUTH))
def list_offers(
    request: Request[Any, Any, Any],
    all_offers: Annotated[bool, Parameter(query="all", description="Administrators: every offer")] = False,
) -> OfferList:
    """Your offers, newest first (administrators may ask for every offer with ``all=true``)."""
    principal = admin(request) if all_offers else signed_in(request)
    with deps_of(request).session() as session:
        buyer = None if all_offers else user_id(session, principal)
        return OfferList(items=offers.list_offers(session, buyer_id=buyer))


def _move(request: Request[Any, Any, Any], offer_id: int, target: OfferStatus, *, as_admin: bool) -> OfferView:
    principal = admin(request) if as_admin else signed_in(request)
    with deps_of(request).session() as session:
        return offers.move(
            session, offer_id=offer_id, target=target, actor_id=user_id(session, principal), as_admin=as_admin
        )


@post(
    "/offers/{offer_id:int}/withdraw",
    status_code=200,
    sync_to_thread=True,
    tags=["offers"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def withdraw_offer(request: Request[Any, Any, Any], offer_id: Id) -> OfferView:
    """Withdraw your open offer."""
    return _move(request, offer_id, OfferStatus.WITHDRAWN, as_admin=False)


@post(
    "/offers/{offer_id:int}/accept",
    status_code=200,
    sync_to_thread=True,
    tags=["offers", "admin"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def accept_offer(request: Request[Any, Any, Any], offer_id: Id, data: ReviewRequest | None = None) -> OfferView:
    """Administrators: accept an open offer (the plate goes under offer; audit-logged)."""
    return _move(request, offer_id, OfferStatus.ACCEPTED, as_admin=True)


@post(
    "/offers/{offer_id:int}/reject",
    status_code=200,
    sync_to_thread=True,
    tags=["offers", "admin"],
    security=BEARER,
    responses=errors(*AUTH, 404, 409),
)
def reject_offer(request: Request[Any, Any, Any], offer_id: Id, data: ReviewRequest | None = None) -> OfferView:
    """Administrators: reject an open offer (audit-logged)."""
    return _move(request, offer_id, OfferStatus.REJECTED, as_admin=True)


ROUTES = [make_offer, list_offers, withdraw_offer, accept_offer, reject_offer]
