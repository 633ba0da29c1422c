"""Offers: make, list, withdraw (the buyer); accept or reject (the seller or an administrator); pay
(the buyer of an accepted offer, through Stripe Checkout).

Moves follow the state machine in :data:`services.core.statuses.OFFER_TRANSITIONS`, under the lock
order of :mod:`services.core.offers` (the plate, then the offer). Exactly one offer per plate can be
accepted: accepting checks the plate's status under its row lock, and the partial unique index
``uq_offers_one_holding_per_plate`` refuses a second one whatever happens above it. Accepting declines
every other open offer on the plate. Each move writes its emails to the outbox in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.api.accounts import CallerSession, audit
from services.api.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from services.api.offers.schemas import CheckoutView, OfferList, OfferView
from services.api.paging import Paging
from services.api.plates.service import pounds
from services.api.principal import Principal
from services.api.settings import ApiSettings
from services.core.external.errors import PaymentProviderUnavailable, PaymentRejected
from services.core.external.payments import Payments
from services.core.models import Offer, OfferStatus, Plate, PlateStatus, User, can_transition
from services.core.notifications import EmailKind, money, notify
from services.core.offers import close_open_offers, lock_offer_and_plate, lock_plate, when
from services.core.registration import Registration

OFFERS = Paging("offers", Offer.created_at, Offer.id)

log = logging.getLogger("reggie.api.offers")

CURRENCY = "gbp"
_SESSION_MARGIN = timedelta(minutes=5)
"""A stored Checkout Session closer than this to its expiry is replaced rather than handed out."""


def view(offer: Offer, registration: str) -> OfferView:
    return OfferView(
        id=offer.id,
        registration=registration,
        amount_pence=offer.amount_pence,
        status=offer.status,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
        accepted_at=offer.accepted_at,
        lapses_at=offer.lapses_at,
        paid_at=offer.paid_at,
    )


def _not_open(offer: Offer, target: OfferStatus) -> Conflict:
    return Conflict(
        f"This offer is {offer.status} and cannot be {target.value}.",
        code="offer_not_open" if offer.status != OfferStatus.OPEN else "invalid_transition",
        details={"status": offer.status},
    )


class Offers(CallerSession):
    """The offers ``caller`` may see and move, in one request's session."""

    def __init__(self, session: Session, caller: Principal, settings: ApiSettings) -> None:
        super().__init__(session, caller)
        self.settings = settings

    def make(self, mark: Registration, *, amount_pence: int) -> OfferView:
        session = self.session
        buyer_id = self.member_id
        plate_id = session.scalar(select(Plate.id).where(Plate.registration == mark.normalized))
        # Shared lock: offers on one plate go in side by side, but not past an accept (see services.core.offers).
        plate = lock_plate(session, plate_id, shared=True) if plate_id is not None else None
        if plate is not None and plate.status == PlateStatus.UNDER_OFFER.value:
            raise Conflict(
                f"{mark.display} is under offer; it takes offers again if the accepted one lapses.",
                code="plate_under_offer",
            )
        if plate is None or plate.status != PlateStatus.LISTED.value:
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
        if plate.seller_id is not None:
            notify(
                session,
                EmailKind.OFFER_RECEIVED,
                user_id=plate.seller_id,
                registration=plate.registration_display,
                amount=money(amount_pence),
                asking=money(plate.asking_price_pence),
            )
        session.refresh(offer)
        return view(offer, plate.registration_display)

    def listing(self, *, everyone: bool, cursor: str | None, limit: int) -> OfferList:
        """A page of the caller's offers, newest first; ``everyone``: every offer (administrators only)."""
        statement = select(Offer, Plate.registration_display).join(Plate, Plate.id == Offer.plate_id)
        if everyone:
            self.require_admin()
        else:
            statement = statement.where(Offer.buyer_id == self.member_id)
        rows = self.session.execute(OFFERS.select(statement, cursor=cursor, limit=limit)).tuples().all()
        page = OFFERS.page(rows, limit=limit, entity=lambda row: row[0])
        return OfferList(items=[view(offer, display) for offer, display in page.rows], next_cursor=page.next_cursor)

    def get(self, offer_id: int) -> OfferView:
        """An offer its buyer, the plate's seller or an administrator may see."""
        row = self.session.execute(
            select(Offer, Plate).join(Plate, Plate.id == Offer.plate_id).where(Offer.id == offer_id)
        ).first()
        if row is None or not self._party(row[0], row[1]):
            raise NotFound("The offer was not found.")
        return view(row[0], row[1].registration_display)

    def withdraw(self, offer_id: int) -> OfferView:
        """The buyer withdraws their open offer."""
        offer, plate = self._locked(offer_id)
        if offer.buyer_id != self.member_id:
            raise NotFound("The offer was not found.")  # other people's offers do not exist, as far as a buyer can tell
        if not can_transition(offer.status, OfferStatus.WITHDRAWN):
            raise _not_open(offer, OfferStatus.WITHDRAWN)
        offer.status = OfferStatus.WITHDRAWN.value
        return self._saved(offer, plate)

    def accept(self, offer_id: int) -> OfferView:
        """The seller (or an administrator) accepts an open offer: the plate goes under offer, every other
        open offer on it is declined, and the buyer has ``OFFER_LAPSE_DAYS`` to pay."""
        session = self.session
        offer, plate = self._locked(offer_id)
        self._require_seller_or_admin(offer, plate)
        if not can_transition(offer.status, OfferStatus.ACCEPTED):
            raise _not_open(offer, OfferStatus.ACCEPTED)
        if plate.status != PlateStatus.LISTED.value:
            raise Conflict(
                f"{plate.registration_display} is {plate.status.replace('_', ' ')}; no other offer can be accepted.",
                code="plate_not_available",
                details={"plate_status": plate.status},
            )
        now = datetime.now(UTC)
        deadline = now + self.settings.market.offer_lapse
        offer.status = OfferStatus.ACCEPTED.value
        offer.accepted_at = now
        offer.lapses_at = deadline
        plate.status = PlateStatus.UNDER_OFFER.value
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # the partial unique index: another offer holds the plate
            raise Conflict(
                f"Another offer on {plate.registration_display} is already accepted.", code="plate_not_available"
            ) from None
        declined = close_open_offers(session, plate, reason="the seller accepted another offer")
        notify(
            session,
            EmailKind.OFFER_ACCEPTED,
            user_id=offer.buyer_id,
            registration=plate.registration_display,
            amount=money(offer.amount_pence),
            deadline=when(deadline),
        )
        self._audit(offer, plate, "offer.accepted", declined_offers=declined)
        return self._saved(offer, plate)

    def reject(self, offer_id: int) -> OfferView:
        """The seller (or an administrator) turns down an open offer."""
        offer, plate = self._locked(offer_id)
        self._require_seller_or_admin(offer, plate)
        if not can_transition(offer.status, OfferStatus.REJECTED):
            raise _not_open(offer, OfferStatus.REJECTED)
        offer.status = OfferStatus.REJECTED.value
        notify(
            self.session,
            EmailKind.OFFER_DECLINED,
            user_id=offer.buyer_id,
            registration=plate.registration_display,
            amount=money(offer.amount_pence),
            reason="the seller turned it down",
        )
        self._audit(offer, plate, "offer.rejected")
        return self._saved(offer, plate)

    def checkout(self, offer_id: int, payments: Payments) -> CheckoutView:
        """A Stripe Checkout Session for the buyer's accepted offer: the stored one while it is open, else
        a new one. The offer's row lock makes concurrent requests wait for the first, and the idempotency
        key (offer and attempt) makes a request retried after a crash get the same session from Stripe."""
        offer, plate = self._locked(offer_id)
        if offer.buyer_id != self.member_id:
            raise NotFound("The offer was not found.")
        if offer.status == OfferStatus.PAYMENT_PENDING.value:
            raise Conflict("Your payment is being processed; we will email you when it clears.", code="payment_pending")
        if offer.status != OfferStatus.ACCEPTED.value:
            raise Conflict(
                f"This offer is {offer.status}; only an accepted offer can be paid.",
                code="offer_not_accepted",
                details={"status": offer.status},
            )
        now = datetime.now(UTC)
        if offer.lapses_at is not None and offer.lapses_at <= now:
            raise Conflict("The time to pay for this offer has passed.", code="payment_deadline_passed")
        expires = offer.checkout_expires_at
        if offer.checkout_session_id and offer.checkout_url and expires is not None and expires > now + _SESSION_MARGIN:
            return CheckoutView(
                offer_id=offer.id, session_id=offer.checkout_session_id, url=offer.checkout_url, expires_at=expires
            )
        attempt = offer.checkout_attempt + 1
        back = f"{self.settings.market.checkout_return_url or self.settings.public_url}/offers/{offer.id}"
        try:
            created = payments.create_checkout_session(
                offer_id=offer.id,
                amount_pence=offer.amount_pence,
                currency=CURRENCY,
                buyer_email=self._buyer_email(offer),
                success_url=back + "?checkout=success&session_id={CHECKOUT_SESSION_ID}",
                cancel_url=back + "?checkout=cancelled",
                idempotency_key=f"offer-{offer.id}-checkout-{attempt}",
                item_name=f"Registration mark {plate.registration_display}",
            )
        except (PaymentProviderUnavailable, PaymentRejected) as exc:
            if isinstance(exc, PaymentRejected):
                log.error("Stripe refused a checkout session for offer %s: %s", offer.id, exc.message)
            raise Unavailable(
                "Payments are not available right now; try again in a minute.",
                code="payments_unavailable",
                reason=exc.message,
            ) from None
        offer.checkout_attempt = attempt
        offer.checkout_session_id = created.id
        offer.checkout_url = created.url
        offer.checkout_expires_at = created.expires_at
        self.session.flush()
        return CheckoutView(offer_id=offer.id, session_id=created.id, url=created.url, expires_at=created.expires_at)

    # -- helpers ---------------------------------------------------------------------------------

    def _locked(self, offer_id: int) -> tuple[Offer, Plate]:
        locked = lock_offer_and_plate(self.session, offer_id)
        if locked is None:
            raise NotFound("The offer was not found.")
        return locked

    def _party(self, offer: Offer, plate: Plate) -> bool:
        return self.caller.is_admin or self.member_id in (offer.buyer_id, plate.seller_id)

    def _require_seller_or_admin(self, offer: Offer, plate: Plate) -> None:
        if self.caller.is_admin or plate.seller_id == self.member_id:
            return
        if offer.buyer_id == self.member_id:
            raise Forbidden("Only the seller or an administrator may accept or reject an offer.")
        raise NotFound("The offer was not found.")

    def _buyer_email(self, offer: Offer) -> str | None:
        return self.caller.email or self.session.scalar(select(User.email).where(User.id == offer.buyer_id))

    def _audit(self, offer: Offer, plate: Plate, action: str, **details: object) -> None:
        audit(
            self.session,
            actor_id=self.member_id,
            action=action,
            target_type="offer",
            target_id=offer.id,
            registration=plate.registration,
            amount_pence=offer.amount_pence,
            by_admin=self.caller.is_admin and plate.seller_id != self.member_id,
            **details,
        )

    def _saved(self, offer: Offer, plate: Plate) -> OfferView:
        self.session.flush()
        self.session.refresh(offer)
        return view(offer, plate.registration_display)
