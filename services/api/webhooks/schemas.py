"""Webhook bodies: the acknowledgement (the providers' events are read as raw JSON, after their
signatures are checked)."""

from __future__ import annotations

from msgspec import Struct


class WebhookAck(Struct, kw_only=True):
    received: bool
    duplicate: bool
    event_id: str
    outcome: str | None = None
    """Stripe: what the event did (``paid``, ``payment_pending``, ``refund_needed``, ``payment_conflict``,
    ``ignored``...); ``None`` for a duplicate and for Clerk."""
