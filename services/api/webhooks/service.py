"""What the Clerk and Stripe webhooks do once their signatures check out
(:mod:`services.api.webhooks.deliveries` checks them).

Idempotency: each delivery's event id is inserted into ``processed_webhook_events`` in the same
transaction as its effect (``ON CONFLICT DO NOTHING``); a replayed or retried delivery finds the row
already there and changes nothing, and a delivery whose processing fails leaves no row behind, so
the provider's retry gets another chance.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.api.errors import Malformed
from services.api.webhooks.deliveries import Delivery
from services.api.webhooks.payments import apply_stripe_event

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
        apply_clerk_event(self._session, delivery.event_type, delivery.data, delivery.occurred_at)
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


_CLERK_USER_EVENTS = ("user.created", "user.updated", "user.deleted")

# One statement per event, so the ordering holds in PostgreSQL under concurrent deliveries: the row is
# written only when the event is at least as new as the last one applied to it (users.clerk_event_at). A
# deletion of a user never seen leaves a deleted row behind, so an older user.created arriving after it
# does not bring the user to life; only a newer user.created does (Clerk recreated them).
_APPLY_USER = text(
    """
    INSERT INTO users (clerk_user_id, email, display_name, role, clerk_event_at)
    VALUES (:clerk_user_id, :email, :display_name, :role, :at)
    ON CONFLICT (clerk_user_id) DO UPDATE
        SET email = EXCLUDED.email, display_name = EXCLUDED.display_name, role = EXCLUDED.role,
            clerk_event_at = EXCLUDED.clerk_event_at,
            deleted_at = CASE WHEN :revive THEN NULL ELSE users.deleted_at END
        WHERE users.clerk_event_at IS NULL OR users.clerk_event_at <= EXCLUDED.clerk_event_at
    """
)
_DELETE_USER = text(
    """
    INSERT INTO users (clerk_user_id, deleted_at, clerk_event_at) VALUES (:clerk_user_id, :at, :at)
    ON CONFLICT (clerk_user_id) DO UPDATE
        SET deleted_at = EXCLUDED.deleted_at, clerk_event_at = EXCLUDED.clerk_event_at
        WHERE users.clerk_event_at IS NULL OR users.clerk_event_at <= EXCLUDED.clerk_event_at
    """
)


def apply_clerk_event(session: Session, event_type: str, data: dict[str, Any], occurred_at: datetime | None) -> None:
    """Mirror a Clerk user event, in the order Clerk produced them (by ``occurred_at``), whatever the order
    they arrive in: ``user.created`` creates the user, or recreates one deleted before it; ``user.updated``
    changes their details and never brings a deleted user back; ``user.deleted`` marks them deleted. An
    event older than the last applied to the user changes nothing. Other events are ignored."""
    if event_type not in _CLERK_USER_EVENTS:
        return
    clerk_id = data.get("id")
    if not isinstance(clerk_id, str) or not clerk_id or len(clerk_id) > 64:
        return
    if occurred_at is None:
        raise Malformed("The Clerk event has no timestamp to order it by.", code="invalid_event")
    if event_type == "user.deleted":
        session.execute(_DELETE_USER, {"clerk_user_id": clerk_id, "at": occurred_at})
        return
    fields = _clerk_user_fields(data)
    revive = event_type == "user.created"
    session.execute(_APPLY_USER, {"clerk_user_id": clerk_id, "at": occurred_at, "revive": revive, **fields})
