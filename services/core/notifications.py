"""What the marketplace tells people, written to the email outbox in the caller's transaction.

Every change someone must hear about (an offer received, accepted, declined, lapsed or paid; a claim
reviewed; a payment to refund) calls :func:`notify` (or :func:`notify_admins`) in the same session as
the change itself: both commit or neither does, so an email is never lost to a crash after the change
nor sent about a change that rolled back. The sender (:mod:`services.core.outbox`) delivers them.

The text is rendered now, from what the change knew; the address is read when the email is sent
(the user's current one), so a user whose address Clerk has not reported yet still gets it later.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.models import EmailOutbox, User, UserRole

__all__ = ["EmailKind", "money", "notify", "notify_admins", "render"]

log = logging.getLogger("reggie.notifications")


class EmailKind(StrEnum):
    OFFER_RECEIVED = "offer_received"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_LAPSED = "offer_lapsed"
    OFFER_PAID_BUYER = "offer_paid_buyer"
    OFFER_PAID_SELLER = "offer_paid_seller"
    CLAIM_APPROVED = "claim_approved"
    CLAIM_REJECTED = "claim_rejected"
    REFUND_NEEDED = "refund_needed"


@dataclass(frozen=True, slots=True)
class _Template:
    subject: str
    paragraphs: tuple[str, ...]


_TEMPLATES: dict[EmailKind, _Template] = {
    EmailKind.OFFER_RECEIVED: _Template(
        "New offer of {amount} on {registration}",
        (
            "Someone offered {amount} for {registration} (your asking price is {asking}).",
            "Accept it, or wait for others: accepting one offer declines the rest.",
        ),
    ),
    EmailKind.OFFER_ACCEPTED: _Template(
        "Your offer on {registration} was accepted",
        (
            "The seller accepted your offer of {amount} for {registration}.",
            "Pay by {deadline} to secure it; after that the offer lapses and the plate is listed again.",
        ),
    ),
    EmailKind.OFFER_DECLINED: _Template(
        "Your offer on {registration} was declined",
        ("Your offer of {amount} for {registration} was declined: {reason}.",),
    ),
    EmailKind.OFFER_LAPSED: _Template(
        "Your offer on {registration} has lapsed",
        (
            "Your accepted offer of {amount} for {registration} was not paid by {deadline}, so it has lapsed.",
            "The plate is listed again; you may make a new offer.",
        ),
    ),
    EmailKind.OFFER_PAID_BUYER: _Template(
        "Payment received for {registration}",
        (
            "We received your payment of {amount} for {registration}. Thank you.",
            "We will be in touch about transferring the registration to your vehicle.",
        ),
    ),
    EmailKind.OFFER_PAID_SELLER: _Template(
        "{registration} is sold",
        (
            "The buyer has paid {amount} for {registration}; it is sold.",
            "We will be in touch about the transfer and your payout.",
        ),
    ),
    EmailKind.CLAIM_APPROVED: _Template(
        "Your claim to {registration} was approved",
        ("Your ownership of {registration} is confirmed. You can now list it for sale.{note}",),
    ),
    EmailKind.CLAIM_REJECTED: _Template(
        "Your claim to {registration} was not approved",
        ("We could not confirm your ownership of {registration}.{note}",),
    ),
    EmailKind.REFUND_NEEDED: _Template(
        "Refund needed: {reason} ({payment})",
        (
            "Stripe reported a payment the marketplace cannot keep: {reason}.",
            "Payment {payment}, {amount}, offer {offer}, event {event}.",
            "Refund it in the Stripe dashboard, then resolve payment issue {issue}.",
        ),
    ),
}


def money(minor: int | None, currency: str = "gbp") -> str:
    """``1234500`` pence as ``£12,345``; another currency as ``12,345.00 USD``."""
    if minor is None:
        return "an unknown amount"
    if currency.lower() != "gbp":
        return f"{minor / 100:,.2f} {currency.upper()}"
    return f"£{minor // 100:,}" if minor % 100 == 0 else f"£{minor / 100:,.2f}"


def render(kind: EmailKind, **context: str) -> tuple[str, str, str]:
    """(subject, text, html) of ``kind`` with ``context`` filled in (escaped in the HTML)."""
    template = _TEMPLATES[kind]
    subject = template.subject.format(**context)[:200]
    text = "\n\n".join(p.format(**context) for p in template.paragraphs)
    escaped = {name: html.escape(value) for name, value in context.items()}
    body = "".join(f"<p>{p.format(**escaped)}</p>" for p in template.paragraphs)
    return subject, text + "\n\n-- Reggie\n", f"<!doctype html><html><body>{body}<p>-- Reggie</p></body></html>"


def notify(
    session: Session, kind: EmailKind, *, user_id: int | None, address: str | None = None, **context: str
) -> None:
    """Write one email to the outbox, in ``session``'s transaction."""
    if user_id is None and not address:
        log.warning("an email %s has no recipient; not written", kind)
        return
    subject, text, body = render(kind, **context)
    session.add(
        EmailOutbox(
            kind=kind.value, user_id=user_id, to_address=address, subject=subject, text_body=text, html_body=body
        )
    )


def notify_admins(session: Session, kind: EmailKind, **context: str) -> int:
    """One email to every administrator, in ``session``'s transaction; returns how many were written."""
    admins = session.scalars(
        select(User.id).where(User.role == UserRole.ADMIN.value, User.deleted_at.is_(None)).order_by(User.id)
    ).all()
    for admin_id in admins:
        notify(session, kind, user_id=admin_id, **context)
    if not admins:
        log.error("no administrator to tell about %s: %s", kind, context)
    return len(admins)
