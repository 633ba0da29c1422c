"""What a verified Stripe event does to an offer: strict checks, then paid, pending, or a payment issue.

The events (each carries the offer id in ``metadata.offer_id``, which checkout puts on both the
session and its PaymentIntent):

* ``checkout.session.completed`` with ``payment_status: "paid"``, ``checkout.session.async_payment_succeeded``
  and ``payment_intent.succeeded`` report money taken. The offer becomes paid (and the plate sold) only
  when the amount (the session's ``amount_total``, the intent's ``amount_received``) and the currency
  equal the offer's and the offer is accepted (or its delayed payment is pending). Otherwise the money
  cannot be kept: a ``refund_needed`` payment issue is recorded and every administrator is emailed.
  Stripe sends two of these for one payment; the second finds the offer paid with the same payment
  id and changes nothing.
* ``checkout.session.completed`` with ``payment_status: "unpaid"``: a delayed method (Bacs Direct
  Debit...) is under way and may still fail. The offer waits in ``payment_pending`` (it does not
  lapse meanwhile); ``checkout.session.async_payment_failed`` puts it back to accepted, so the buyer
  can pay again before the deadline.
* ``checkout.session.expired``: the stored session is forgotten, so the next checkout makes a new one.

A payment id already recorded against another offer is a ``payment_conflict`` issue, answered 200
like every other outcome here (Stripe retries anything else, and a retry would change nothing). Every
outcome is audit-logged against the offer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.audit import audit
from services.core.models import Offer, OfferStatus, PaymentIssue, PaymentIssueKind, Plate, PlateStatus
from services.core.notifications import EmailKind, money, notify, notify_admins
from services.core.offers import lock_offer_and_plate

__all__ = ["CURRENCY", "StripePayment", "apply_stripe_event"]

log = logging.getLogger("reggie.api.payments")

CURRENCY = "gbp"
_MONEY_TAKEN = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded", "payment_intent.succeeded"}
)
_HANDLED = _MONEY_TAKEN | {"checkout.session.async_payment_failed", "checkout.session.expired"}


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value[:255] if isinstance(value, str) and value else None


def _int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class StripePayment:
    """What one event says about one payment, read defensively (any field may be missing)."""

    event_id: str
    event_type: str
    offer_ref: str | None
    """``metadata.offer_id`` as sent; ``None`` when the object has none (not one of ours)."""
    paid: bool
    """Money was taken: a session with ``payment_status`` ``paid``, or a succeeded intent."""
    amount: int | None
    currency: str | None
    session_id: str | None
    payment_intent: str | None

    @property
    def key(self) -> str | None:
        """The payment's identity: its PaymentIntent, else its Checkout Session."""
        return self.payment_intent or self.session_id

    @classmethod
    def read(cls, event_id: str, event_type: str, obj: dict[str, Any]) -> StripePayment:
        metadata = obj.get("metadata")
        offer_ref = metadata.get("offer_id") if isinstance(metadata, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        currency = _text(obj, "currency")
        common: dict[str, Any] = {
            "event_id": event_id,
            "event_type": event_type,
            "offer_ref": str(offer_ref)[:40] if offer_ref is not None else None,  # pyright: ignore[reportUnknownArgumentType]
            "currency": currency.lower()[:3] if currency else None,
        }
        if event_type.startswith("payment_intent."):
            return cls(
                **common,
                paid=obj.get("status") == "succeeded",
                amount=_int(obj, "amount_received"),
                session_id=None,
                payment_intent=_text(obj, "id"),
            )
        return cls(
            **common,
            paid=obj.get("payment_status") == "paid",
            amount=_int(obj, "amount_total"),
            session_id=_text(obj, "id"),
            payment_intent=_text(obj, "payment_intent"),
        )


def apply_stripe_event(session: Session, event_id: str, event_type: str, obj: dict[str, Any]) -> str:
    """Apply one verified event; returns what it did (``paid``, ``payment_pending``, ``refund_needed``...)."""
    if event_type not in _HANDLED:
        return "ignored"
    payment = StripePayment.read(event_id, event_type, obj)
    if payment.offer_ref is None:
        log.info("stripe %s %s carries no offer id: not a marketplace payment", event_type, event_id)
        return "ignored"
    # An id is up to 18 ASCII digits (a bigint); anything else names no offer of ours.
    known = re.fullmatch(r"[0-9]{1,18}", payment.offer_ref) is not None
    locked = lock_offer_and_plate(session, int(payment.offer_ref)) if known else None
    if locked is None:
        if payment.paid and event_type in _MONEY_TAKEN:
            return _issue(session, PaymentIssueKind.REFUND_NEEDED, "unknown_offer", payment, None)
        return "ignored"
    offer, plate = locked
    return _HANDLERS.get(event_type, _reported)(session, offer, plate, payment)


def _reported(session: Session, offer: Offer, plate: Plate, payment: StripePayment) -> str:
    """A completed session or a succeeded intent: money taken, or a delayed payment started."""
    if payment.paid:
        return _money_taken(session, offer, plate, payment)
    return _delayed_payment_started(session, offer, plate, payment)


def _mismatch(offer: Offer, payment: StripePayment) -> str | None:
    if payment.currency != CURRENCY:
        return "currency_mismatch"
    if payment.amount != offer.amount_pence:
        return "amount_mismatch"
    return None


def _money_taken(session: Session, offer: Offer, plate: Plate, payment: StripePayment) -> str:
    if offer.status == OfferStatus.PAID.value and offer.payment_reference == payment.key:
        return "already_paid"  # the other event Stripe sends for the same payment
    problem = _mismatch(offer, payment)
    if problem is None and offer.status == OfferStatus.PAID.value:
        problem = "offer_already_paid"
    if problem is None and offer.status not in (OfferStatus.ACCEPTED.value, OfferStatus.PAYMENT_PENDING.value):
        problem = "offer_not_accepted"
    if problem is None and offer.payment_reference not in (None, payment.key):
        problem = "another_payment_pending"
    if problem is not None:
        return _issue(session, PaymentIssueKind.REFUND_NEEDED, problem, payment, offer)
    if not _take_reference(session, offer, payment):
        return _issue(session, PaymentIssueKind.PAYMENT_CONFLICT, "payment_reused", payment, offer)
    offer.status = OfferStatus.PAID.value
    offer.paid_at = datetime.now(UTC)
    plate.status = PlateStatus.SOLD.value
    context = {"registration": plate.registration_display, "amount": money(offer.amount_pence)}
    notify(session, EmailKind.OFFER_PAID_BUYER, user_id=offer.buyer_id, **context)
    if plate.seller_id is not None:
        notify(session, EmailKind.OFFER_PAID_SELLER, user_id=plate.seller_id, **context)
    _audit(session, offer, plate, payment, "paid")
    return "paid"


def _delayed_payment_started(session: Session, offer: Offer, plate: Plate, payment: StripePayment) -> str:
    """``checkout.session.completed`` with ``payment_status: "unpaid"``: a delayed method is under way."""
    if offer.status != OfferStatus.ACCEPTED.value or _mismatch(offer, payment) is not None:
        # Nothing is taken yet; if the money does arrive, its success event records the problem.
        _audit(session, offer, plate, payment, "ignored")
        return "ignored"
    if not _take_reference(session, offer, payment):
        return _issue(session, PaymentIssueKind.PAYMENT_CONFLICT, "payment_reused", payment, offer)
    offer.status = OfferStatus.PAYMENT_PENDING.value
    _audit(session, offer, plate, payment, "payment_pending")
    return "payment_pending"


def _delayed_payment_failed(session: Session, offer: Offer, plate: Plate, payment: StripePayment) -> str:
    if offer.status != OfferStatus.PAYMENT_PENDING.value or offer.payment_reference != payment.key:
        _audit(session, offer, plate, payment, "ignored")
        return "ignored"
    offer.status = OfferStatus.ACCEPTED.value
    offer.payment_reference = None
    _clear_session(offer)
    _audit(session, offer, plate, payment, "payment_failed")
    return "payment_failed"


def _forget_session(session: Session, offer: Offer, plate: Plate, payment: StripePayment) -> str:
    del session, plate
    if payment.session_id is None or offer.checkout_session_id != payment.session_id:
        return "ignored"
    _clear_session(offer)
    return "session_expired"


def _clear_session(offer: Offer) -> None:
    offer.checkout_session_id = offer.checkout_url = offer.checkout_expires_at = None


def _take_reference(session: Session, offer: Offer, payment: StripePayment) -> bool:
    """Record the payment's id on the offer; ``False`` when another offer holds it (the unique constraint)."""
    if offer.payment_reference == payment.key:
        return True
    taken = session.scalar(select(Offer.id).where(Offer.payment_reference == payment.key, Offer.id != offer.id))
    if taken is not None:
        return False
    offer.payment_reference = payment.key
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another transaction recorded it in between
        offer.payment_reference = None
        return False
    return True


def _issue(session: Session, kind: PaymentIssueKind, reason: str, payment: StripePayment, offer: Offer | None) -> str:
    """Record a payment issue once per kind and payment, and tell the administrators the first time."""
    key = payment.key or payment.event_id
    inserted = session.execute(
        insert(PaymentIssue)
        .values(
            kind=kind.value,
            reason=reason,
            offer_id=offer.id if offer is not None else None,
            provider="stripe",
            payment_key=key,
            checkout_session_id=payment.session_id,
            event_id=payment.event_id,
            event_type=payment.event_type[:100],
            amount_minor=payment.amount,
            currency=payment.currency,
        )
        .on_conflict_do_nothing(index_elements=["kind", "payment_key"])
        .returning(PaymentIssue.id)
    ).scalar()
    log.warning("stripe %s %s: %s (%s) for offer %s", payment.event_type, key, kind.value, reason, payment.offer_ref)
    if inserted is not None:
        notify_admins(
            session,
            EmailKind.REFUND_NEEDED,
            reason=reason.replace("_", " "),
            payment=key,
            amount=money(payment.amount, payment.currency or CURRENCY),
            offer=payment.offer_ref or "none",
            event=payment.event_id,
            issue=str(inserted),
        )
        audit(
            session,
            actor_id=None,
            action=f"payment.{kind.value}",
            target_type="offer" if offer is not None else "payment",
            target_id=offer.id if offer is not None else key,
            reason=reason,
            payment_reference=key,
            amount=payment.amount,
            currency=payment.currency,
            event_id=payment.event_id,
        )
    return kind.value


_HANDLERS: dict[str, Callable[[Session, Offer, Plate, StripePayment], str]] = {
    "checkout.session.expired": _forget_session,
    "checkout.session.async_payment_failed": _delayed_payment_failed,
}


def _audit(session: Session, offer: Offer, plate: Plate, payment: StripePayment, outcome: str) -> None:
    audit(
        session,
        actor_id=None,
        action=f"stripe.{payment.event_type}",
        target_type="offer",
        target_id=offer.id,
        outcome=outcome,
        payment_reference=payment.key,
        amount=payment.amount,
        currency=payment.currency,
        offer_status=offer.status,
        registration=plate.registration,
    )
