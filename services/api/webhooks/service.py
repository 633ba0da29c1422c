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

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.api.webhooks.deliveries import Delivery
from services.api.webhooks.payments import apply_stripe_event
from services.core.models import User

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

    def stripe(self, delivery: Delivery) -> str | None:
        """Apply a Stripe payment event and say what it did; ``None`` when it was delivered before (then
        nothing changes). See :mod:`services.api.webhooks.payments`."""
        if not self._first(delivery):
            return None
        return apply_stripe_event(self._session, delivery.event_id, delivery.event_type, delivery.data)

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
