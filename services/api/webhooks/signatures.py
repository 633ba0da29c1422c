"""Webhook signature checks for Clerk (Svix) and Stripe.

Both schemes are an HMAC-SHA256 over a timestamp and the raw body, with a tolerance on the timestamp
so a captured delivery cannot be replayed later; comparisons are constant-time. A failure raises
:class:`BadSignature` with a reason; the route turns it into a 400 and stores nothing.

Who checks (``bench/bench_webhook_imports.py`` measures what each library costs the webhook path, on
top of what that path loads anyway: Litestar, psycopg and SQLAlchemy):

* Stripe: the official ``stripe`` library (``WebhookSignature.verify_header``). It adds about 86 ms of
  imports to the first webhook of an environment, once, and it is already in the API's package for
  Checkout; Stripe waits seconds for an answer, so that is cheap for not keeping a verifier of our own.
* Clerk: our :func:`verify_svix`. The ``svix`` library would add about 295 ms and a dozen packages the
  API does not ship (its HTTP API client comes with the verifier) for an HMAC of a few microseconds;
  the tests check ours against signatures ``svix`` itself makes.
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


def verify_stripe(secret: str, *, header: str | None, body: bytes) -> None:
    """Check a ``Stripe-Signature`` header against ``body`` with the ``stripe`` library (loaded here, on
    the webhook path only)."""
    from stripe import SignatureVerificationError, WebhookSignature  # noqa: PLC0415 - see the module docstring

    try:
        WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE_S)
    except SignatureVerificationError as exc:
        raise BadSignature(str(exc.user_message or "the Stripe-Signature header does not match")) from None
    except UnicodeDecodeError:
        raise BadSignature("the body is not UTF-8, so Stripe did not sign it") from None
