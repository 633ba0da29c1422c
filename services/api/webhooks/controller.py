"""Clerk (Svix) and Stripe webhooks: signature first, then an idempotent effect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.datastructures import Headers

from services.api.controllers import DomainController, action, domain_service
from services.api.secrets import Secrets
from services.api.webhooks.deliveries import clerk_delivery, stripe_delivery
from services.api.webhooks.schemas import WebhookAck

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.api.webhooks.service import Inbox


def _inbox(session: Session) -> Inbox:
    from services.api.webhooks.service import Inbox  # noqa: PLC0415 - the write path loads SQLAlchemy on first use

    return Inbox(session)


class WebhookController(DomainController):
    path = "/webhooks"
    tags = ("webhooks",)
    dependencies, signature_namespace = domain_service("inbox", _inbox)

    @action("/clerk")
    def clerk_webhook(self, body: bytes, headers: Headers, secrets: Secrets, inbox: Inbox) -> WebhookAck:
        """Clerk user events (Svix-signed): upsert on ``user.created``/``user.updated``, mark deleted on
        ``user.deleted``. Idempotent on ``svix-id``; a bad signature is a 400 and stores nothing."""
        delivery = clerk_delivery(secrets, headers, body)
        return WebhookAck(received=True, duplicate=not inbox.clerk(delivery), event_id=delivery.event_id)

    @action("/stripe")
    def stripe_webhook(self, body: bytes, headers: Headers, secrets: Secrets, inbox: Inbox) -> WebhookAck:
        """Stripe payment events (``Stripe-Signature`` checked by the ``stripe`` library, 300 s tolerance),
        applied to the offer in ``metadata.offer_id``: paid only when amount, currency and payment status
        match an accepted offer, else recorded as a payment issue for the administrators (still a 200).
        Idempotent on the event id; a bad signature is a 400 and stores nothing."""
        delivery = stripe_delivery(secrets, headers, body)
        outcome = inbox.stripe(delivery)
        return WebhookAck(received=True, duplicate=outcome is None, event_id=delivery.event_id, outcome=outcome)
