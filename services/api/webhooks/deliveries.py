"""A webhook delivery, verified: the signature over the raw body first, then the JSON.

Nothing here touches the database, so a delivery with a bad signature is refused (400) before a
session is used and stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.api.errors import Malformed, Unavailable
from services.api.secrets import Secrets, SecretUnavailable
from services.api.webhooks.signatures import BadSignature, verify_stripe, verify_svix


@dataclass(frozen=True, slots=True)
class Delivery:
    provider: str
    event_id: str
    event_type: str
    data: dict[str, Any]
    """The event's object (Clerk: ``data``; Stripe: ``data.object``), ``{}`` when it has none."""
    occurred_at: datetime | None = None
    """When the provider produced the event (Clerk's ``timestamp``), not when this attempt was sent."""


def clerk_delivery(secrets: Secrets, headers: Mapping[str, str], body: bytes) -> Delivery:
    """A Svix-signed Clerk event, idempotent on ``svix-id``."""
    msg_id = headers.get("svix-id")
    _verified(
        lambda: verify_svix(
            _secret(secrets, "clerk_webhook_secret"),
            msg_id=msg_id,
            timestamp=headers.get("svix-timestamp"),
            signature=headers.get("svix-signature"),
            body=body,
        )
    )
    event = _json_object(body)
    return Delivery(
        "clerk", str(msg_id)[:255], _event_type(event), _object(event.get("data")), _clerk_time(event.get("timestamp"))
    )


_SECONDS_BEFORE = 10**11
"""A Unix time below this is in seconds (until the year 5138), above it in milliseconds, as Clerk sends it."""


def _clerk_time(value: Any) -> datetime | None:
    """Clerk's event ``timestamp`` (Unix milliseconds) as a time; ``None`` when absent or unreadable."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 10**14:
        return None
    return datetime.fromtimestamp(value / (1 if value < _SECONDS_BEFORE else 1000), UTC)


def stripe_delivery(secrets: Secrets, headers: Mapping[str, str], body: bytes) -> Delivery:
    """A ``Stripe-Signature``-signed event, idempotent on its id."""
    _verified(
        lambda: verify_stripe(
            _secret(secrets, "stripe_webhook_secret"), header=headers.get("stripe-signature"), body=body
        )
    )
    event = _json_object(body)
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise Malformed("The Stripe event has no id.", code="invalid_event")
    data = _object(event.get("data"))
    return Delivery("stripe", event_id[:255], _event_type(event), _object(data.get("object")))


def _verified(check: Callable[[], None]) -> None:
    try:
        check()
    except BadSignature as exc:
        raise Malformed(f"The webhook signature was refused: {exc}.", code="invalid_signature") from None


def _secret(secrets: Secrets, name: str) -> str:
    try:
        return secrets.get(name)
    except SecretUnavailable as exc:
        message = "This webhook's signing secret is not configured."
        raise Unavailable(message, code="webhook_unconfigured", reason=str(exc)) from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise Malformed("The webhook body is not JSON.", code="invalid_json") from None
    if not isinstance(document, dict):
        raise Malformed("The webhook body is not a JSON object.", code="invalid_event")
    return document  # pyright: ignore[reportUnknownVariableType]


def _event_type(event: dict[str, Any]) -> str:
    kind = event.get("type")
    return kind if isinstance(kind, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]
