"""The statuses of the schema's rows, and the offer state machine, without SQLAlchemy.

:mod:`services.core.models` stores them (CHECK constraints list these values); code that only needs
the values, such as the API's request parsing, imports them from here and so never loads the ORM.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "OFFERS_HOLDING_PLATE",
    "OFFER_TRANSITIONS",
    "AuctionEventStatus",
    "ClaimDocumentStatus",
    "ClaimStatus",
    "EmailStatus",
    "OfferStatus",
    "PaymentIssueKind",
    "PlateStatus",
    "UserRole",
    "can_transition",
]


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


class PlateStatus(StrEnum):
    LISTED = "listed"
    UNDER_OFFER = "under_offer"
    """One offer is accepted (or its payment is under way); no other can be accepted."""
    SOLD = "sold"
    WITHDRAWN = "withdrawn"
    """The seller took the listing down; they may list it again."""
    UNLISTED = "unlisted"
    """An administrator took the listing down; the seller cannot list it again by themselves."""


class OfferStatus(StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    """The seller (or an administrator) turned this offer down."""
    DECLINED = "declined"
    """Closed because another offer was accepted, or the listing was taken down."""
    PAYMENT_PENDING = "payment_pending"
    """The buyer paid by a delayed method (Bacs Direct Debit...) that may still fail."""
    LAPSED = "lapsed"
    """Accepted but not paid in time; the plate is listed again."""
    PAID = "paid"


OFFER_TRANSITIONS: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.OPEN: frozenset(
        {OfferStatus.WITHDRAWN, OfferStatus.ACCEPTED, OfferStatus.REJECTED, OfferStatus.DECLINED}
    ),
    OfferStatus.ACCEPTED: frozenset(
        {OfferStatus.PAID, OfferStatus.PAYMENT_PENDING, OfferStatus.LAPSED, OfferStatus.DECLINED}
    ),
    OfferStatus.PAYMENT_PENDING: frozenset({OfferStatus.PAID, OfferStatus.ACCEPTED}),
    OfferStatus.WITHDRAWN: frozenset(),
    OfferStatus.REJECTED: frozenset(),
    OfferStatus.DECLINED: frozenset(),
    OfferStatus.LAPSED: frozenset(),
    OfferStatus.PAID: frozenset(),
}
"""The offer state machine: the buyer withdraws an open offer; the seller (or an administrator)
accepts one, which declines every other open offer on the plate, or rejects one; an accepted offer
becomes paid when the payment provider confirms, waits in ``payment_pending`` while a delayed method
settles (back to accepted if it fails), lapses when it is not paid in time, and is declined when an
administrator takes the listing down. Every other move is refused."""

OFFERS_HOLDING_PLATE = (OfferStatus.ACCEPTED, OfferStatus.PAYMENT_PENDING, OfferStatus.PAID)
"""At most one offer per plate may be in one of these (a partial unique index enforces it)."""


def can_transition(current: OfferStatus | str, target: OfferStatus | str) -> bool:
    """Whether an offer in ``current`` may move to ``target`` (unknown statuses: no)."""
    try:
        return OfferStatus(target) in OFFER_TRANSITIONS[OfferStatus(current)]
    except ValueError:
        return False


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ClaimDocumentStatus(StrEnum):
    PENDING_UPLOAD = "pending_upload"
    """A presigned upload URL was issued; the object may not exist yet."""
    UPLOADED = "uploaded"
    """The API saw the object in the bucket and recorded its confirmed size."""
    REJECTED = "rejected"


class EmailStatus(StrEnum):
    PENDING = "pending"
    """Waiting in the outbox (again, after a failed attempt, from ``next_attempt_at``)."""
    SENT = "sent"
    FAILED = "failed"
    """Resend refused it for good, or it ran out of attempts; an operator looks at ``last_error``."""


class PaymentIssueKind(StrEnum):
    REFUND_NEEDED = "refund_needed"
    """Money arrived that the marketplace cannot keep (wrong amount or currency, offer not accepted)."""
    PAYMENT_CONFLICT = "payment_conflict"
    """A payment id already recorded against another offer was reported for this one."""


class AuctionEventStatus(StrEnum):
    PENDING = "pending"
    """Known but not imported yet: never fetched, or its results were not published yet."""
    IMPORTED = "imported"
    """Its results file was read to the end and written to ``sales`` (bad rows are reported, not retried)."""
    FAILED = "failed"
    """The last fetch or read failed (server error, timeout, unreadable file); the next run retries."""
