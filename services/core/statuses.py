"""The statuses of the schema's rows, and the offer state machine, without SQLAlchemy.

:mod:`services.core.models` stores them (CHECK constraints list these values); code that only needs
the values, such as the API's request parsing, imports them from here and so never loads the ORM.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "OFFER_TRANSITIONS",
    "AuctionEventStatus",
    "ClaimDocumentStatus",
    "ClaimStatus",
    "OfferStatus",
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
    SOLD = "sold"
    WITHDRAWN = "withdrawn"


class OfferStatus(StrEnum):
    OPEN = "open"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PAID = "paid"


OFFER_TRANSITIONS: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.OPEN: frozenset({OfferStatus.WITHDRAWN, OfferStatus.ACCEPTED, OfferStatus.REJECTED}),
    OfferStatus.ACCEPTED: frozenset({OfferStatus.PAID}),
    OfferStatus.WITHDRAWN: frozenset(),
    OfferStatus.REJECTED: frozenset(),
    OfferStatus.PAID: frozenset(),
}
"""The offer state machine: the buyer withdraws an open offer, the seller accepts or rejects it, and
an accepted offer becomes paid when the payment provider confirms. Every other move is refused."""


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


class AuctionEventStatus(StrEnum):
    PENDING = "pending"
    """Known but not imported yet: never fetched, or its results were not published yet."""
    IMPORTED = "imported"
    """Its results file was read to the end and written to ``sales`` (bad rows are reported, not retried)."""
    FAILED = "failed"
    """The last fetch or read failed (server error, timeout, unreadable file); the next run retries."""
