"""Offer moves the API and the worker share: the lock order, closing open offers, lapsing unpaid ones.

**Lock order.** Whatever changes an offer's status takes the plate's row lock first, then the offer's
(:func:`lock_offer_and_plate`): accepting, paying, lapsing and taking a listing down all check the
plate's status under its lock, so two of them on one plate run one after the other, and never
deadlock on each other. Making an offer takes the plate's lock too (shared), so an offer cannot slip
in as open on a plate that an accept has just put under offer. Behind the locks, the partial unique
index ``uq_offers_one_holding_per_plate`` refuses a second accepted, paying or paid offer whatever
the code does.

**Lapse.** An accepted offer unpaid at ``lapses_at`` (``OFFER_LAPSE_DAYS`` after acceptance) lapses
in the scheduled run (:func:`lapse_due`): the plate is listed again and the buyer is told. An offer
whose Checkout Session is still open waits until the session expires (at most an hour), so a buyer
on Stripe's page is never cut off mid-payment; one whose delayed payment is under way
(``payment_pending``) never lapses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.audit import audit
from services.core.models import Offer, OfferStatus, Plate, PlateStatus
from services.core.notifications import EmailKind, money, notify

__all__ = ["LapseReport", "close_open_offers", "lapse_due", "lock_offer_and_plate", "lock_plate", "when"]

log = logging.getLogger("reggie.offers")


def when(moment: datetime) -> str:
    """A deadline as people read it: ``14 March 2027, 16:05 UTC``."""
    return moment.astimezone(UTC).strftime("%-d %B %Y, %H:%M UTC")


def lock_plate(session: Session, plate_id: int, *, shared: bool = False) -> Plate | None:
    """The plate, locked (``FOR UPDATE``, or ``FOR SHARE`` when ``shared``) and freshly read."""
    statement = select(Plate).where(Plate.id == plate_id).with_for_update(read=shared)
    return session.scalar(statement.execution_options(populate_existing=True))


def lock_offer_and_plate(session: Session, offer_id: int) -> tuple[Offer, Plate] | None:
    """The offer and its plate, both locked, the plate first (see the module docstring)."""
    plate_id = session.scalar(select(Offer.plate_id).where(Offer.id == offer_id))
    if plate_id is None:
        return None
    plate = lock_plate(session, plate_id)
    offer = session.scalar(
        select(Offer).where(Offer.id == offer_id).with_for_update().execution_options(populate_existing=True)
    )
    if plate is None or offer is None:  # deleted in between (a cascade from the plate or the buyer)
        return None
    return offer, plate


def close_open_offers(session: Session, plate: Plate, *, reason: str) -> list[int]:
    """Decline every open offer on ``plate`` (locked by the caller) and tell each buyer why; their ids."""
    offers = session.scalars(
        select(Offer).where(Offer.plate_id == plate.id, Offer.status == OfferStatus.OPEN.value).with_for_update()
    ).all()
    for offer in offers:
        offer.status = OfferStatus.DECLINED.value
        notify(
            session,
            EmailKind.OFFER_DECLINED,
            user_id=offer.buyer_id,
            registration=plate.registration_display,
            amount=money(offer.amount_pence),
            reason=reason,
        )
    return [offer.id for offer in offers]


@dataclass
class LapseReport:
    lapsed: list[int] = field(default_factory=list[int])
    waiting: int = 0
    """Due offers left for a later run: their Checkout Session is still open."""

    def as_dict(self) -> dict[str, object]:
        return {"lapsed": self.lapsed, "waiting_for_checkout": self.waiting}


def lapse_due(engine: Engine, *, now: datetime | None = None, limit: int = 200) -> LapseReport:
    """Lapse the accepted offers unpaid past their deadline, each in its own transaction."""
    moment = now or datetime.now(UTC)
    report = LapseReport()
    with Session(engine) as session:
        due = session.execute(
            select(Offer.id, Offer.checkout_expires_at)
            .where(Offer.status == OfferStatus.ACCEPTED.value, Offer.lapses_at <= moment)
            .order_by(Offer.lapses_at, Offer.id)
            .limit(limit)
        ).all()
    for offer_id, checkout_expires_at in due:
        if checkout_expires_at is not None and checkout_expires_at > moment:
            report.waiting += 1
            continue
        with Session(engine) as session, session.begin():
            if _lapse(session, offer_id, moment):
                report.lapsed.append(offer_id)
    return report


def _lapse(session: Session, offer_id: int, moment: datetime) -> bool:
    locked = lock_offer_and_plate(session, offer_id)
    if locked is None:
        return False
    offer, plate = locked
    # Checked again under the locks: a payment may have arrived since the offer was picked.
    deadline = offer.lapses_at
    session_open = offer.checkout_expires_at is not None and offer.checkout_expires_at > moment
    if offer.status != OfferStatus.ACCEPTED.value or deadline is None or deadline > moment or session_open:
        return False
    offer.status = OfferStatus.LAPSED.value
    if plate.status == PlateStatus.UNDER_OFFER.value:
        plate.status = PlateStatus.LISTED.value
    notify(
        session,
        EmailKind.OFFER_LAPSED,
        user_id=offer.buyer_id,
        registration=plate.registration_display,
        amount=money(offer.amount_pence),
        deadline=when(deadline),
    )
    audit(
        session,
        actor_id=None,
        action="offer.lapsed",
        target_type="offer",
        target_id=offer.id,
        registration=plate.registration,
        amount_pence=offer.amount_pence,
        lapses_at=deadline.isoformat(),
    )
    log.info("offer %s on %s lapsed unpaid; the plate is listed again", offer.id, plate.registration)
    return True
