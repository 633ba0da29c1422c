"""What the Clerk and Stripe webhooks do once their signatures check out
(:mod:`services.api.webhooks.deliveries` checks them).

Idempotency: each delivery's event id is inserted into ``processed_webhook_events`` in the same
transaction as its effect (``ON CONFLICT DO NOTHING``); a replayed or retried delivery finds the row
already there and changes nothing, and a delivery whose processing fails leaves no row behind, so
the provider's retry gets another chance.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from services.api.accounts import audit
from services.api.webhooks.deliveries import Delivery
from services.core.models import Offer, OfferStatus, Plate, PlateStatus, User, can_transition

log = logging.getLogger("reggie.api.webhooks")

_CLAIM_EVENT = text(
    """
    INSERT INTO processed_webhook_events (provider, event_id, event_type)
    VALUES (:provider, :event_id, :event_type)
    ON CONFLICT (provider, event_id) DO NOTHING
    RETURNING id
    """
)


class Inbox:
    """Applies verified deliveries once each, in one request's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def clerk(self, delivery: Delivery) -> bool:
        """Apply a Clerk user event; ``False`` when it was delivered before (then nothing changes)."""
        if not self._first(delivery):
            return False
        apply_clerk_event(self._session, delivery.event_type, delivery.data)
        return True

    def stripe(self, delivery: Delivery) -> bool:
        """Apply a Stripe payment event; ``False`` when it was delivered before (then nothing changes)."""
        if not self._first(delivery):
            return False
        apply_stripe_event(self._session, delivery.event_type, delivery.data)
        return True

    def _first(self, delivery: Delivery) -> bool:
        """Record the event; ``False`` when it was processed before."""
        row = self._session.execute(
            _CLAIM_EVENT,
            {"provider": delivery.provider, "event_id": delivery.event_id, "event_type": delivery.event_type[:100]},
        ).first()
        return row is not None


def _clerk_user_fields(data: dict[str, Any]) -> dict[str, Any]:
    email = None
    primary = data.get("primary_email_address_id")
    addresses = data.get("email_addresses")
    if isinstance(addresses, list):
        for entry in addresses:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(entry, dict) and (email is None or entry.get("id") == primary):  # pyright: ignore[reportUnknownMemberType]
                email = entry.get("email_address")  # pyright: ignore[reportUnknownMemberType]
    names = [data.get("first_name"), data.get("last_name")]
    display = " ".join(n for n in names if isinstance(n, str) and n) or None
    metadata = data.get("public_metadata")
    role = "admin" if isinstance(metadata, dict) and metadata.get("role") == "admin" else "user"  # pyright: ignore[reportUnknownMemberType]
    return {
        "email": email[:320] if isinstance(email, str) else None,
        "display_name": display[:200] if display else None,
        "role": role,
    }


def apply_clerk_event(session: Session, event_type: str, data: dict[str, Any]) -> None:
    """``user.created``/``user.updated`` upsert the user; ``user.deleted`` marks them deleted."""
    clerk_id = data.get("id")
    if not isinstance(clerk_id, str) or not clerk_id or len(clerk_id) > 64:
        return
    user = session.scalar(select(User).where(User.clerk_user_id == clerk_id))
    if event_type in ("user.created", "user.updated"):
        fields = _clerk_user_fields(data)
        if user is None:
            session.add(User(clerk_user_id=clerk_id, **fields))
        else:
            for name, value in fields.items():
                setattr(user, name, value)
            user.deleted_at = None
    elif event_type == "user.deleted" and user is not None:
        user.deleted_at = datetime.now(UTC)


def apply_stripe_event(session: Session, event_type: str, obj: dict[str, Any]) -> None:
    """Record payment events against the offer named in the object's ``metadata.offer_id``.

    ``payment_intent.succeeded`` and ``checkout.session.completed`` move an accepted offer to paid and
    the plate to sold; every payment event is written to the audit log against its offer.
    """
    metadata = obj.get("metadata")
    raw_offer_id = metadata.get("offer_id") if isinstance(metadata, dict) else None  # pyright: ignore[reportUnknownMemberType]
    try:
        offer_id = int(str(raw_offer_id))
    except ValueError:
        return
    offer = session.get(Offer, offer_id, with_for_update=True)
    if offer is None:
        log.warning("stripe %s names unknown offer %s", event_type, offer_id)
        return
    reference = obj.get("payment_intent") if event_type.startswith("checkout.") else obj.get("id")
    if event_type in ("payment_intent.succeeded", "checkout.session.completed") and can_transition(
        offer.status, OfferStatus.PAID
    ):
        offer.status = OfferStatus.PAID.value
        if isinstance(reference, str) and reference:
            offer.payment_reference = reference[:255]
        session.execute(update(Plate).where(Plate.id == offer.plate_id).values(status=PlateStatus.SOLD.value))
    audit(
        session,
        actor_id=None,
        action=f"stripe.{event_type}"[:64],
        target_type="offer",
        target_id=offer.id,
        payment_reference=reference if isinstance(reference, str) else None,
        amount=obj.get("amount") if isinstance(obj.get("amount"), int) else None,
        offer_status=offer.status,
    )
