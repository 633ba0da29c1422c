"""Clerk (Svix) and Stripe webhooks: signature first, then an idempotent effect."""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from litestar import Request, post

from services.api import webhooks
from services.api.context import deps_of
from services.api.errors import ApiError
from services.api.routes.common import errors
from services.api.schemas import WebhookAck
from services.api.secrets import SecretUnavailable, secret
from services.api.signatures import BadSignature, verify_stripe, verify_svix


def _secret(name: str) -> str:
    try:
        return secret(name)
    except SecretUnavailable:
        raise ApiError(503, "webhook_unconfigured", "This webhook's signing secret is not configured.") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise ApiError(400, "invalid_json", "The webhook body is not JSON.") from None
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_event", "The webhook body is not a JSON object.")
    return document  # pyright: ignore[reportUnknownVariableType]


def _bad_signature(exc: BadSignature) -> ApiError:
    return ApiError(400, "invalid_signature", f"The webhook signature was refused: {exc}.")


@post("/webhooks/clerk", status_code=200, tags=["webhooks"], responses=errors())
async def clerk_webhook(request: Request[Any, Any, Any]) -> WebhookAck:
    """Clerk user events (Svix-signed): upsert on ``user.created``/``user.updated``, mark deleted on
    ``user.deleted``. Idempotent on ``svix-id``; a bad signature is a 400 and stores nothing."""
    body = await request.body()
    headers = request.headers
    try:
        verify_svix(
            _secret("clerk_webhook_secret"),
            msg_id=headers.get("svix-id"),
            timestamp=headers.get("svix-timestamp"),
            signature=headers.get("svix-signature"),
            body=body,
        )
    except BadSignature as exc:
        raise _bad_signature(exc) from None
    event = _json_object(body)
    event_id = str(headers.get("svix-id"))[:255]
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    deps = deps_of(request)

    def apply() -> bool:
        with deps.session() as session:
            if not webhooks.first_delivery(session, provider="clerk", event_id=event_id, event_type=event_type):
                return False
            webhooks.apply_clerk_event(session, str(event_type), data)  # pyright: ignore[reportArgumentType]
            return True

    first = await anyio.to_thread.run_sync(apply)
    return WebhookAck(received=True, duplicate=not first, event_id=event_id)


@post("/webhooks/stripe", status_code=200, tags=["webhooks"], responses=errors())
async def stripe_webhook(request: Request[Any, Any, Any]) -> WebhookAck:
    """Stripe payment events (``Stripe-Signature`` v1, 300 s tolerance), recorded against the offer
    in ``metadata.offer_id``. Idempotent on the event id; a bad signature is a 400 and stores nothing."""
    body = await request.body()
    try:
        verify_stripe(_secret("stripe_webhook_secret"), header=request.headers.get("stripe-signature"), body=body)
    except BadSignature as exc:
        raise _bad_signature(exc) from None
    event = _json_object(body)
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise ApiError(400, "invalid_event", "The Stripe event has no id.")
    event_id = event_id[:255]
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None  # pyright: ignore[reportUnknownMemberType]
    deps = deps_of(request)

    def apply() -> bool:
        with deps.session() as session:
            if not webhooks.first_delivery(session, provider="stripe", event_id=event_id, event_type=event_type):
                return False
            if isinstance(obj, dict):
                webhooks.apply_stripe_event(session, str(event_type), obj)  # pyright: ignore[reportUnknownArgumentType]
            return True

    first = await anyio.to_thread.run_sync(apply)
    return WebhookAck(received=True, duplicate=not first, event_id=event_id)


ROUTES = [clerk_webhook, stripe_webhook]
