"""Stripe webhook events as Stripe sends them: the event envelope and the ``Stripe-Signature`` header.

Signing follows Stripe's scheme (and ``stripe.WebhookSignature``): the signed payload is
``"{t}.{body}"`` with ``t`` the Unix time; the header is ``t=<t>,v1=<hex HMAC-SHA256 of it keyed with
the whole whsec_ secret>``. A header may carry several ``v1`` values (Stripe adds one per active
secret while a secret is being rolled), which :func:`signature_header` supports.

:func:`deliver` POSTs the exact signed bytes, as Stripe does, with ``Content-Type: application/json;
charset=utf-8`` and Stripe's user agent, and returns the receiver's status and body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["API_VERSION", "SignedDelivery", "build_event", "deliver", "sign_event", "signature_header"]

API_VERSION = "2026-10-28.endive"
"""The API version the stand-in's events claim: the one the pinned stripe library (16.1) is generated for."""


def build_event(event_type: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    """An ``event`` object wrapping ``obj`` (a snapshot event, as a webhook endpoint receives it)."""
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signature_header(payload: bytes, keys: Sequence[str], timestamp: int) -> str:
    """``t=...,v1=...`` for ``payload`` signed with each secret (one ``v1`` per secret)."""
    signed = f"{timestamp}.".encode() + payload
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in keys]
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    """The body and headers Stripe would POST to a webhook endpoint."""

    payload: bytes
    headers: dict[str, str]
    event: dict[str, Any]


def sign_event(event: dict[str, Any], secret: str, *, timestamp: int | None = None) -> SignedDelivery:
    if not secret.startswith("whsec_"):
        raise ValueError("a Stripe webhook signing secret starts with whsec_")
    payload = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON
    stamp = int(time.time()) if timestamp is None else timestamp
    return SignedDelivery(
        payload=payload,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(payload, [secret], stamp),
        },
        event=event,
    )


def deliver(url: str, delivery: SignedDelivery, *, timeout_s: float = 10.0) -> httpx.Response:
    """POST ``delivery`` to ``url``; the caller reads the status (Stripe retries anything but 2xx)."""
    return httpx.post(url, content=delivery.payload, headers=delivery.headers, timeout=timeout_s)
