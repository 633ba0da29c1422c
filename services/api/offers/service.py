"""Offers: make, list, withdraw (the buyer), accept or reject (an administrator, audit-logged).

Moves follow the state machine in :data:`services.core.statuses.OFFER_TRANSITIONS`; anything else is
a conflict naming the current status. One open offer per buyer and plate is enforced by a partial
unique index, so two concurrent requests cannot both succeed.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.api.accounts import CallerSession, audit
from services.api.errors import Conflict, Invalid, NotFound
from services.api.offers.schemas import OfferView
from services.api.plates.service import VISIBLE_STATUSES, pounds
from services.core.models import Offer, OfferStatus, Plate, PlateStatus, can_transition
from services.core.registration import Registration

_REVIEWS = (OfferStatus.ACCEPTED, OfferStatus.REJECTED)


def view(offer: Offer, registration: str) -> OfferView:
    return OfferView(
        id=offer.id,
        registration=registration,
        amount_pence=offer.amount_pence,
        status=offer.status,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
    )


class Offers(CallerSession):
    """The offers ``caller`` may see and move, in one request's session."""

    def make(self, mark: Registration, *, amount_pence: int) -> OfferView:
        session = self.session
        buyer_id = self.member_id
        plate = session.scalar(select(Plate).where(Plate.registration == mark.normalized))
        if plate is None or plate.status not in VISIBLE_STATUSES:
            raise NotFound(f"{mark.display} is not listed for sale.", code="plate_not_listed")
        if plate.seller_id == buyer_id:
            raise Conflict("You cannot make an offer on your own plate.", code="own_plate")
        if amount_pence > plate.asking_price_pence:
            raise Invalid(
                f"An offer may not exceed the asking price of {pounds(plate.asking_price_pence)}.",
                code="offer_above_asking",
                details={"asking_price_pence": plate.asking_price_pence},
            )
        offer = Offer(plate_id=plate.id, buyer_id=buyer_id, amount_pence=amount_pence, status=OfferStatus.OPEN.value)
        try:
            with session.begin_nested():
                session.add(offer)
                session.flush()
        except IntegrityError:
            raise Conflict(
                f"You already have an open offer on {mark.display}; withdraw it first.", code="offer_exists"
            ) from None
        session.refresh(offer)
        return view(offer, plate.registration_display)

    def listing(self, *, everyone: bool) -> list[OfferView]:
        """The caller's offers, newest first; ``everyone``: every offer (administrators only)."""
        statement = select(Offer, Plate.registration_display).join(Plate, Plate.id == Offer.plate_id)
        if everyone:
            self.require_admin()
        else:
            statement = statement.where(Offer.buyer_id == self.member_id)
        statement = statement.order_by(Offer.created_at.desc(), Offer.id.desc()).limit(200)
        return [view(offer, display) for offer, display in self.session.execute(statement).tuples()]

    def withdraw(self, offer_id: int) -> OfferView:
        """The buyer withdraws their open offer."""
        return self._move(offer_id, OfferStatus.WITHDRAWN)

    def review(self, offer_id: int, decision: OfferStatus) -> OfferView:
        """An administrator accepts (the plate goes under offer) or rejects an open offer; audit-logged."""
        if decision not in _REVIEWS:
            raise ValueError(f"an offer review accepts or rejects, not {decision}")
        self.require_admin()
        return self._move(offer_id, decision)

    def _load(self, offer_id: int) -> tuple[Offer, Plate]:
        row = self.session.execute(
            select(Offer, Plate).join(Plate, Plate.id == Offer.plate_id).where(Offer.id == offer_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound("The offer was not found.")
        return row[0], row[1]

    def _move(self, offer_id: int, target: OfferStatus) -> OfferView:
        session = self.session
        actor_id = self.member_id
        offer, plate = self._load(offer_id)
        reviewing = target in _REVIEWS
        if not reviewing and offer.buyer_id != actor_id:
            raise NotFound("The offer was not found.")  # other people's offers do not exist, as far as a buyer can tell
        if not can_transition(offer.status, target):
            raise Conflict(
                f"This offer is {offer.status} and cannot be {target.value}.",
                code="offer_not_open" if offer.status != OfferStatus.OPEN else "invalid_transition",
                details={"status": offer.status},
            )
        previous = offer.status
        offer.status = target.value
        if target is OfferStatus.ACCEPTED:
            session.execute(
                update(Plate)
                .where(Plate.id == plate.id, Plate.status == PlateStatus.LISTED.value)
                .values(status=PlateStatus.UNDER_OFFER.value)
            )
        if reviewing:
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
