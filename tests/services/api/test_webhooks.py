"""Clerk (Svix) and Stripe webhooks: signatures, tolerance, replay, idempotency, over real HTTP."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from services.api.webhooks.signatures import BadSignature, sign_svix, verify_stripe, verify_svix
from services.local.standins.stripe_events import signature_header
from tests.services.api.conftest import bearer
from tests.services.api.support import CLERK_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET, Signer
from tests.services.api.test_health_plates import assert_error


def sign_stripe(secret: str, timestamp: int, body: bytes) -> str:
    """A ``Stripe-Signature`` header made as Stripe makes it (the stand-in's signer, not the verifier's code)."""
    return signature_header(body, [secret], timestamp)


def _svix_headers(body: bytes, msg_id: str, timestamp: int | None = None, secret: str = CLERK_WEBHOOK_SECRET) -> dict:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"svix-id": msg_id, "svix-timestamp": str(ts), "svix-signature": sign_svix(secret, msg_id, ts, body)}


_clerk_clock = itertools.count(int(time.time() * 1000))
"""Clerk's event times (Unix milliseconds): each event made here is a millisecond newer than the last."""


def _user_event(kind: str, clerk_id: str, email: str = "dee@example.com", *, at_ms: int | None = None) -> bytes:
    data = {
        "id": clerk_id,
        "first_name": "Dee",
        "last_name": "Lux",
        "primary_email_address_id": "idn_2",
        "email_addresses": [
            {"id": "idn_1", "email_address": "old@example.com"},
            {"id": "idn_2", "email_address": email},
        ],
        "public_metadata": {},
    }
    if kind == "user.deleted":  # Clerk's deleted-user object
        data = {"id": clerk_id, "object": "user", "deleted": True}
    timestamp = next(_clerk_clock) if at_ms is None else at_ms
    return json.dumps({"type": kind, "object": "event", "timestamp": timestamp, "data": data}).encode()


def _user(engine: Engine, clerk_id: str) -> tuple[Any, ...]:
    """(email, display name, deleted at) of the mirrored user, or ``()`` when there is none."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, display_name, deleted_at FROM users WHERE clerk_user_id = :c"), {"c": clerk_id}
        ).first()
    return tuple(row) if row else ()


def _processed(engine: Engine, provider: str, event_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM processed_webhook_events WHERE provider = :p AND event_id = :e"),
                {"p": provider, "e": event_id},
            ).scalar_one()
        )


def test_clerk_user_lifecycle_and_replay(client: httpx.Client, engine: Engine, signer: Signer) -> None:
    clerk_id = f"user_{uuid.uuid4().hex[:12]}"
    body = _user_event("user.created", clerk_id)
    msg = f"msg_{uuid.uuid4().hex}"
    first = client.post("/webhooks/clerk", content=body, headers=_svix_headers(body, msg))
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    assert _user(engine, clerk_id) == ("dee@example.com", "Dee Lux", None)
    # The same delivery again (a retry, or a replay within the tolerance) changes nothing.
    update = _user_event("user.updated", clerk_id, email="new@example.com")
    replayed = client.post("/webhooks/clerk", content=update, headers=_svix_headers(update, msg))
    assert replayed.json()["duplicate"] is True
    assert _user(engine, clerk_id)[0] == "dee@example.com"
    updated = client.post("/webhooks/clerk", content=update, headers=_svix_headers(update, msg + "-2"))
    assert updated.json()["duplicate"] is False
    assert _user(engine, clerk_id)[0] == "new@example.com"
    deleted = _user_event("user.deleted", clerk_id)
    client.post("/webhooks/clerk", content=deleted, headers=_svix_headers(deleted, msg + "-3"))
    assert _user(engine, clerk_id)[2] is not None
    # A deleted account's still-valid session token no longer acts.
    assert_error(client.get("/offers", headers=bearer(signer.mint(sub=clerk_id))), 403, "account_deleted")


@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "changed body", "stale timestamp", "future timestamp", "missing headers", "v2 scheme only"],
)
def test_clerk_bad_signatures_are_400_and_store_nothing(client: httpx.Client, engine: Engine, tamper: str) -> None:
    clerk_id = f"user_{uuid.uuid4().hex[:12]}"
    body = _user_event("user.created", clerk_id)
    msg = f"msg_{uuid.uuid4().hex}"
    headers = _svix_headers(body, msg)
    sent = body
    if tamper == "wrong secret":
        headers = _svix_headers(body, msg, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQQ==")
    elif tamper == "changed body":
        sent = _user_event("user.created", clerk_id, email="evil@example.com")
    elif tamper == "stale timestamp":
        headers = _svix_headers(body, msg, timestamp=int(time.time()) - 301)
    elif tamper == "future timestamp":
        headers = _svix_headers(body, msg, timestamp=int(time.time()) + 301)
    elif tamper == "missing headers":
        headers = {}
    elif tamper == "v2 scheme only":
        headers["svix-signature"] = headers["svix-signature"].replace("v1,", "v2,")
    response = client.post("/webhooks/clerk", content=sent, headers=headers)
    assert_error(response, 400, "invalid_signature")
    assert _user(engine, clerk_id) == ()
    assert _processed(engine, "clerk", msg) == 0


def test_stripe_bad_signatures_are_400_and_store_nothing(client: httpx.Client, engine: Engine) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": "payment_intent.created", "data": {"object": {}}}).encode()
    now = int(time.time())
    bad = [
        {},
        {"Stripe-Signature": sign_stripe("whsec_other", now, body)},
        {"Stripe-Signature": sign_stripe(STRIPE_WEBHOOK_SECRET, now - 301, body)},
        {"Stripe-Signature": f"t={now},v0=abc"},
        {"Stripe-Signature": "garbage"},
        {"Stripe-Signature": sign_stripe(STRIPE_WEBHOOK_SECRET, now, body + b" ")},
    ]
    for headers in bad:
        assert_error(client.post("/webhooks/stripe", content=body, headers=headers), 400, "invalid_signature")
    assert _processed(engine, "stripe", event_id) == 0
    good = client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign_stripe(STRIPE_WEBHOOK_SECRET, now, body)}
    )
    assert good.json()["duplicate"] is False
    assert _processed(engine, "stripe", event_id) == 1


def _deliver(client: httpx.Client, body: bytes) -> httpx.Response:
    """One signed delivery, as Svix makes it (its own message id, signed at the time it is sent)."""
    answer = client.post("/webhooks/clerk", content=body, headers=_svix_headers(body, f"msg_{uuid.uuid4().hex}"))
    assert answer.status_code == 200, answer.text
    return answer


def test_a_late_retry_of_an_older_update_neither_revives_a_deleted_user_nor_overwrites_newer_data(
    client: httpx.Client, engine: Engine, signer: Signer
) -> None:
    """Clerk's deliveries are retried for days and arrive in any order; the event's own time decides."""
    clerk_id = f"user_{uuid.uuid4().hex[:12]}"
    created = _user_event("user.created", clerk_id, email="first@example.com")
    old_update = _user_event("user.updated", clerk_id, email="older@example.com")  # failed, retried later
    new_update = _user_event("user.updated", clerk_id, email="newer@example.com")
    for body in (created, new_update, old_update):  # the older update arrives last
        _deliver(client, body)
    assert _user(engine, clerk_id)[0] == "newer@example.com"
    deleted = _user_event("user.deleted", clerk_id)
    _deliver(client, deleted)
    _deliver(client, old_update.replace(b"older@", b"again@"))  # another retry of it, after the deletion
    email, _, deleted_at = _user(engine, clerk_id)
    assert (email, deleted_at is not None) == ("newer@example.com", True)
    assert_error(client.get("/offers", headers=bearer(signer.mint(sub=clerk_id))), 403, "account_deleted")
    # An update made after the deletion (Clerk sends none, but a clock may say so) still does not revive.
    _deliver(client, _user_event("user.updated", clerk_id, email="ghost@example.com"))
    assert _user(engine, clerk_id)[2] is not None
    # Clerk creating the user again (a newer user.created) brings the account back.
    _deliver(client, _user_event("user.created", clerk_id, email="back@example.com"))
    assert _user(engine, clerk_id) == ("back@example.com", "Dee Lux", None)
    assert client.get("/offers", headers=bearer(signer.mint(sub=clerk_id))).status_code == 200
    # And the deletion delivered again, late, does not delete the recreated user.
    _deliver(client, deleted)
    assert _user(engine, clerk_id)[2] is None


def test_a_deletion_arriving_before_the_creation_keeps_the_user_deleted(client: httpx.Client, engine: Engine) -> None:
    clerk_id = f"user_{uuid.uuid4().hex[:12]}"
    created = _user_event("user.created", clerk_id)
    _deliver(client, _user_event("user.deleted", clerk_id))
    _deliver(client, created)  # produced first, delivered last
    assert _user(engine, clerk_id)[2] is not None


def test_a_clerk_user_event_without_its_time_is_400_and_changes_nothing(client: httpx.Client, engine: Engine) -> None:
    clerk_id = f"user_{uuid.uuid4().hex[:12]}"
    for timestamp in (None, "yesterday", -5, True):
        event = json.loads(_user_event("user.created", clerk_id))
        event["timestamp"] = timestamp
        body = json.dumps(event).encode()
        msg = f"msg_{uuid.uuid4().hex}"
        answer = client.post("/webhooks/clerk", content=body, headers=_svix_headers(body, msg))
        assert_error(answer, 400, "invalid_event")
        assert _processed(engine, "clerk", msg) == 0
    assert _user(engine, clerk_id) == ()


def test_signed_but_malformed_events_are_400(client: httpx.Client) -> None:
    now = int(time.time())
    for body in (b"not json", b"[1, 2]", b'{"type": "x"}'):
        headers = {"Stripe-Signature": sign_stripe(STRIPE_WEBHOOK_SECRET, now, body)}
        assert client.post("/webhooks/stripe", content=body, headers=headers).status_code == 400
    body = b"not json"
    assert client.post("/webhooks/clerk", content=body, headers=_svix_headers(body, "msg_bad")).status_code == 400


def test_signature_functions_directly() -> None:
    body, now = b'{"a": 1}', 1_700_000_000
    verify_svix(
        CLERK_WEBHOOK_SECRET,
        msg_id="m",
        timestamp=str(now),
        signature="v1,bad " + sign_svix(CLERK_WEBHOOK_SECRET, "m", now, body),
        body=body,
        now=now,
    )
    with pytest.raises(BadSignature):
        verify_svix(
            CLERK_WEBHOOK_SECRET,
            msg_id="m2",
            timestamp=str(now),
            signature=sign_svix(CLERK_WEBHOOK_SECRET, "m", now, body),
            body=body,
            now=now,
        )
    fresh = int(time.time())
    verify_stripe("whsec_s", header=f"{sign_stripe('whsec_s', fresh, body)},v1=00", body=body)
    with pytest.raises(BadSignature):
        verify_stripe("whsec_s", header=sign_stripe("whsec_s", fresh - 301, body), body=body)
    with pytest.raises(BadSignature):
        verify_stripe("whsec_s", header=sign_stripe("whsec_s", fresh, body), body=b"\xff\xfe not UTF-8")


def test_ours_accepts_what_the_official_libraries_sign() -> None:
    """Clerk: our Svix verifier against signatures the ``svix`` library makes (and refuses its tampering).
    Stripe: the ``stripe`` library verifies for us; the header it generates for tests passes our route's check."""
    import stripe
    from svix.webhooks import Webhook

    body, msg_id = b'{"type": "user.created", "data": {"id": "user_x"}}', "msg_library"
    now = int(time.time())
    signed = Webhook(CLERK_WEBHOOK_SECRET).sign(msg_id, datetime.fromtimestamp(now, UTC), body.decode())
    verify_svix(CLERK_WEBHOOK_SECRET, msg_id=msg_id, timestamp=str(now), signature=signed, body=body)
    with pytest.raises(BadSignature):
        verify_svix(CLERK_WEBHOOK_SECRET, msg_id=msg_id, timestamp=str(now), signature=signed, body=body + b" ")
    # And the library accepts ours: the two agree in both directions.
    Webhook(CLERK_WEBHOOK_SECRET).verify(
        body,
        {
            "svix-id": msg_id,
            "svix-timestamp": str(now),
            "svix-signature": sign_svix(CLERK_WEBHOOK_SECRET, msg_id, now, body),
        },
    )
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_lib")
    verify_stripe("whsec_lib", header=header, body=body)
    assert header == sign_stripe("whsec_lib", int(header.split(",")[0][2:]), body)


def test_values_the_database_refuses_are_400_not_500(client: httpx.Client) -> None:
    body = json.dumps({"id": "evt_nul\u0000byte", "type": "payment_intent.created", "data": {"object": {}}}).encode()
    headers = {"Stripe-Signature": sign_stripe(STRIPE_WEBHOOK_SECRET, int(time.time()), body)}
    assert_error(client.post("/webhooks/stripe", content=body, headers=headers), 400, "invalid_data")
