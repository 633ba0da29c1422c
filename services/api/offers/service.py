"""Offers: make, list, withdraw (the buyer), accept or reject (an administrator, audit-logged).

Moves follow the state machine in :data:`services.core.models.OFFER_TRANSITIONS`; anything else is a
409 naming the current status. One open offer per buyer and plate is enforced by a partial unique
index, so two concurrent requests cannot both succeed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.api.context import audit
from services.api.errors import ApiError, not_found
from services.api.plates import VISIBLE_STATUSES, pounds
from services.api.schemas import OfferView
from services.core.models import Offer, OfferStatus, Plate, PlateStatus, can_transition
from services.core.registration import Registration


def view(offer: Offer, registration: str) -> OfferView:
    return OfferView(
        id=offer.id,
        registration=registration,
        amount_pence=offer.amount_pence,
        status=offer.status,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
    )


def make_offer(session: Session, *, buyer_id: int, mark: Registration, amount_pence: int) -> OfferView:
    plate = session.scalar(select(Plate).where(Plate.registration == mark.normalized))
    if plate is None or plate.status not in VISIBLE_STATUSES:
        raise ApiError(404, "plate_not_listed", f"{mark.display} is not listed for sale.")
    if plate.seller_id == buyer_id:
        raise ApiError(409, "own_plate", "You cannot make an offer on your own plate.")
    if amount_pence > plate.asking_price_pence:
        raise ApiError(
            422,
            "offer_above_asking",
            f"An offer may not exceed the asking price of {pounds(plate.asking_price_pence)}.",
            {"asking_price_pence": plate.asking_price_pence},
        )
    offer = Offer(plate_id=plate.id, buyer_id=buyer_id, amount_pence=amount_pence, status=OfferStatus.OPEN.value)
    try:
        with session.begin_nested():
            session.add(offer)
            session.flush()
    except IntegrityError:
        raise ApiError(
            409, "offer_exists", f"You already have an open offer on {mark.display}; withdraw it first."
        ) from None
    session.refresh(offer)
    return view(offer, plate.registration_display)


def list_offers(session: Session, *, buyer_id: int | None) -> list[OfferView]:
    """The buyer's offers, newest first (``buyer_id=None``: every offer, for administrators)."""
    statement = select(Offer, Plate.registration_display).join(Plate, Plate.id == Offer.plate_id)
    if buyer_id is not None:
        statement = statement.where(Offer.buyer_id == buyer_id)
    statement = statement.order_by(Offer.created_at.desc(), Offer.id.desc()).limit(200)
    return [view(offer, display) for offer, display in session.execute(statement).tuples()]


def _load(session: Session, offer_id: int) -> tuple[Offer, Plate]:
    row = session.execute(
        select(Offer, Plate).join(Plate, Plate.id == Offer.plate_id).where(Offer.id == offer_id).with_for_update()
    ).first()
    if row is None:
        raise not_found("The offer")
    return row[0], row[1]


def move(session: Session, *, offer_id: int, target: OfferStatus, actor_id: int, as_admin: bool) -> OfferView:
    """Move an offer to ``target``: the buyer may only withdraw; administrators accept or reject."""
    offer, plate = _load(session, offer_id)
    if not as_admin and offer.buyer_id != actor_id:
        raise not_found("The offer")  # other people's offers do not exist, as far as a buyer can tell
    if not can_transition(offer.status, target):
        raise ApiError(
            409,
            "offer_not_open" if offer.status != OfferStatus.OPEN else "invalid_transition",
            f"This offer is {offer.status} and cannot be {target.value}.",
            {"status": offer.status},
        )
    previous = offer.status
    offer.status = target.value
    if target is OfferStatus.ACCEPTED:
        session.execute(
            update(Plate)
            .where(Plate.id == plate.id, Plate.status == PlateStatus.LISTED.value)
            .values(status=PlateStatus.UNDER_OFFER.value)
        )
    if as_admin and target in (OfferStatus.ACCEPTED, OfferStatus.REJECTED):
        audit(
            session,
            actor_id=actor_id,
            action=f"offer.{target.value}",
            target_type="offer",
            target_id=offer.id,
            previous_status=previous,
            registration=plate.registration,
            amount_pence=offer.amount_pence,
        )
    session.flush()
    session.refresh(offer)
    return view(offer, plate.registration_display)
