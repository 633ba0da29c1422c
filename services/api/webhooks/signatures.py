"""Webhook signature checks for Clerk (Svix) and Stripe.

Both schemes are an HMAC-SHA256 over a timestamp and the raw body, with a tolerance on the timestamp
so a captured delivery cannot be replayed later; comparisons are constant-time. A failure raises
:class:`BadSignature` with a reason; the route turns it into a 400 and stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

TOLERANCE_S = 300


class BadSignature(Exception):
    """The delivery is not signed by the expected sender, or is too old (or too new)."""


def _check_timestamp(raw: str, now: float | None) -> int:
    try:
        timestamp = int(raw)
    except ValueError:
        raise BadSignature("the signature timestamp is not an integer") from None
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_S:
        raise BadSignature("the signature timestamp is outside the 5-minute tolerance")
    return timestamp


def _svix_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # Not base64: use the text itself (lets a local stage use a readable secret).
        return encoded.encode()


def sign_svix(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``svix-signature`` header value for a delivery (used by tests and the local stack)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_svix_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_svix(
    secret: str,
    *,
    msg_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """Check Svix headers (``svix-id``, ``svix-timestamp``, ``svix-signature``) against ``body``."""
    if not msg_id or not timestamp or not signature:
        raise BadSignature("the svix-id, svix-timestamp and svix-signature headers are required")
    ts = _check_timestamp(timestamp, now)
    expected = sign_svix(secret, msg_id, ts, body).split(",", 1)[1].encode()
    for entry in signature.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise BadSignature("no svix-signature entry matches the body")


def sign_stripe(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Stripe-Signature`` header value for a delivery (used by tests and the local stack)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_stripe(secret: str, *, header: str | None, body: bytes, now: float | None = None) -> None:
    """Check a ``Stripe-Signature`` header (``t=...,v1=...[,v1=...]``) against ``body``."""
    if not header:
        raise BadSignature("the Stripe-Signature header is required")
    timestamp: str | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise BadSignature("the Stripe-Signature header lacks t= or v1=")
    ts = _check_timestamp(timestamp, now)
    expected = sign_stripe(secret, ts, body).split("v1=", 1)[1].encode()
    if not any(hmac.compare_digest(candidate.encode(), expected) for candidate in candidates):
        raise BadSignature("no v1 signature matches the body")
