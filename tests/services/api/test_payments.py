"""Payments checked strictly: every mismatch Stripe could report is a test, answered 200 (Stripe must
stop retrying) and recorded, never a 5xx; delayed methods wait in ``payment_pending``; money for an
offer that is not accepted becomes a refund-needed record with an email to every administrator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from services.core.offers import lapse_due
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin
from services.local.standins.stripe_events import build_event
from tests.services.api.market import Person, admin_person, offer, one, person, send_event, unique_mark
from tests.services.api.support import Signer, seed_plate
from tests.services.api.test_health_plates import assert_error


def accepted_and_checked_out(
    client: httpx.Client, signer: Signer, engine: Engine, amount: int = 250_000
) -> tuple[Person, dict[str, Any], str]:
    """A plate of the platform's own stock, a buyer's accepted offer on it and its Checkout Session."""
    mark = unique_mark("PY")
    seed_plate(engine, mark, 300_000)
    buyer = person(signer, "payer")
    admin = admin_person(signer, engine)
    made = offer(client, buyer, mark, amount)
    assert client.post(f"/offers/{made['id']}/accept", headers=admin.headers).status_code == 200
    checkout = client.post(f"/offers/{made['id']}/checkout", headers=buyer.headers)
    assert checkout.status_code == 200, checkout.text
    return buyer, made, checkout.json()["session_id"]


def status_of(engine: Engine, offer_id: int) -> tuple[str, str]:
    row = one(
        engine,
        "SELECT o.status AS offer, p.status AS plate FROM offers o JOIN plates p ON p.id = o.plate_id WHERE o.id = :id",
        id=offer_id,
    )
    return row.offer, row.plate


def issues(engine: Engine, offer_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, reason FROM payment_issues WHERE offer_id = :id ORDER BY id"), {"id": offer_id}
        )
        return [(r.kind, r.reason) for r in rows]


def admin_emails(engine: Engine) -> int:
    return int(
        one(engine, "SELECT count(*) AS n FROM email_outbox WHERE kind = 'refund_needed'").n  # across the run
    )


@pytest.mark.parametrize(
    ("event_type", "forged", "reason"),
    [
        ("checkout.session.completed", {"currency": "usd"}, "currency_mismatch"),
        ("checkout.session.completed", {"amount_total": 1}, "amount_mismatch"),
        ("payment_intent.succeeded", {"amount_received": 1, "currency": "usd"}, "currency_mismatch"),
        ("payment_intent.succeeded", {"amount_received": 1}, "amount_mismatch"),
        ("checkout.session.async_payment_succeeded", {"amount_total": 249_999}, "amount_mismatch"),
    ],
)
def test_a_payment_that_does_not_match_is_a_refund_not_a_sale(
    client: httpx.Client,
    signer: Signer,
    engine: Engine,
    stripe_standin: Running[StripeStandin],
    *,
    event_type: str,
    forged: dict[str, Any],
    reason: str,
) -> None:
    _, made, session_id = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(session_id)
    before = admin_emails(engine)
    answer = send_event(client, stripe_standin, stripe_standin.standin.event(event_type, session_id, **forged))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "refund_needed"
    assert status_of(engine, made["id"]) == ("accepted", "under_offer")
    assert issues(engine, made["id"]) == [("refund_needed", reason)]
    assert admin_emails(engine) > before
    # The genuine event for the same payment then pays; the mismatch stays on record for the refund.
    genuine = send_event(client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id))
    assert genuine.json()["outcome"] in ("paid", "refund_needed")


def test_unpaid_completion_waits_then_async_success_pays(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    buyer, made, session_id = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(session_id, payment_status="unpaid")  # Bacs Direct Debit: not settled yet
    answer = send_event(client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id))
    assert answer.json()["outcome"] == "payment_pending"
    assert status_of(engine, made["id"]) == ("payment_pending", "under_offer")
    assert_error(client.post(f"/offers/{made['id']}/checkout", headers=buyer.headers), 409, "payment_pending")
    # Past its deadline, a pending payment does not lapse.
    with engine.begin() as conn:
        conn.execute(text("UPDATE offers SET lapses_at = now() - interval '1 day' WHERE id = :id"), {"id": made["id"]})
    assert made["id"] not in lapse_due(engine).lapsed
    stripe_standin.standin.settle(session_id, succeeded=True)
    settled = stripe_standin.standin.event("checkout.session.async_payment_succeeded", session_id)
    assert send_event(client, stripe_standin, settled).json()["outcome"] == "paid"
    assert status_of(engine, made["id"]) == ("paid", "sold")


def test_async_failure_puts_the_offer_back_to_accepted_with_a_new_session(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    buyer, made, session_id = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(session_id, payment_status="unpaid")
    send_event(client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id))
    stripe_standin.standin.settle(session_id, succeeded=False)
    failed = stripe_standin.standin.event("checkout.session.async_payment_failed", session_id)
    assert send_event(client, stripe_standin, failed).json()["outcome"] == "payment_failed"
    assert status_of(engine, made["id"]) == ("accepted", "under_offer")
    again = client.post(f"/offers/{made['id']}/checkout", headers=buyer.headers).json()
    assert again["session_id"] != session_id  # a fresh session, under the next idempotency key


def test_money_for_a_lapsed_offer_is_a_refund_and_the_plate_stays_listed(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    _, made, session_id = accepted_and_checked_out(client, signer, engine)
    with engine.begin() as conn:  # the deadline and the session both passed
        conn.execute(
            text(
                "UPDATE offers SET lapses_at = now() - interval '1 hour', "
                "checkout_expires_at = now() - interval '1 minute' WHERE id = :id"
            ),
            {"id": made["id"]},
        )
    assert made["id"] in lapse_due(engine).lapsed
    assert status_of(engine, made["id"]) == ("lapsed", "listed")
    stripe_standin.standin.pay(session_id)  # Stripe reports it late
    answer = send_event(client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id))
    assert answer.json()["outcome"] == "refund_needed"
    assert issues(engine, made["id"]) == [("refund_needed", "offer_not_accepted")]
    assert status_of(engine, made["id"]) == ("lapsed", "listed")
    # The PaymentIntent's own event for the same payment is the same issue, recorded once.
    send_event(client, stripe_standin, stripe_standin.standin.event("payment_intent.succeeded", session_id))
    assert issues(engine, made["id"]) == [("refund_needed", "offer_not_accepted")]


def test_a_reused_payment_id_is_a_recorded_conflict_and_a_200(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    _, first, first_session = accepted_and_checked_out(client, signer, engine)
    _, second, second_session = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(first_session)
    paid = stripe_standin.standin.event("checkout.session.completed", first_session)
    assert send_event(client, stripe_standin, paid).json()["outcome"] == "paid"
    stripe_standin.standin.pay(second_session)
    reused = stripe_standin.standin.event(
        "checkout.session.completed", second_session, payment_intent=paid["data"]["object"]["payment_intent"]
    )
    answer = send_event(client, stripe_standin, reused)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "payment_conflict"
    assert issues(engine, second["id"]) == [("payment_conflict", "payment_reused")]
    assert status_of(engine, second["id"]) == ("accepted", "under_offer")
    assert status_of(engine, first["id"]) == ("paid", "sold")


def test_payments_for_unknown_offers_and_foreign_events(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    unknown = build_event(
        "payment_intent.succeeded",
        {"id": "pi_unknown_offer_1", "object": "payment_intent", "amount_received": 5000, "currency": "gbp",
         "status": "succeeded", "metadata": {"offer_id": "999999999"}},
    )  # fmt: skip
    assert send_event(client, stripe_standin, unknown).json()["outcome"] == "refund_needed"
    assert one(engine, "SELECT reason FROM payment_issues WHERE payment_key = 'pi_unknown_offer_1'").reason == (
        "unknown_offer"
    )
    for metadata in (
        {},
        {"offer_id": "not-a-number"},
        {"offer_id": "-1"},
        {"offer_id": "9" * 30},
        {"offer_id": "１２"},
    ):
        foreign = build_event(
            "checkout.session.completed",
            {"id": "cs_foreign", "payment_status": "unpaid", "amount_total": 1, "metadata": metadata},
        )
        answer = send_event(client, stripe_standin, foreign)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "ignored"
    odd = build_event("charge.refunded", {"id": "ch_1"})
    assert send_event(client, stripe_standin, odd).json()["outcome"] == "ignored"
    # Shapes Stripe never sends, signed anyway: still no 5xx.
    for obj in (
        {"metadata": "x"},
        {"metadata": {"offer_id": 1}},
        {"amount_total": "lots", "metadata": {"offer_id": "1"}},
    ):
        answer = send_event(client, stripe_standin, build_event("checkout.session.completed", obj))
        assert answer.status_code == 200, answer.text


def test_the_admin_sees_payment_issues_and_the_audit_log(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    _, made, session_id = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(session_id)
    send_event(
        client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id, currency="eur")
    )
    admin = admin_person(signer, engine, "auditor")
    page = client.get("/admin/payment-issues", params={"status": "open", "limit": 100}, headers=admin.headers).json()
    [issue] = [i for i in page["items"] if i["offer_id"] == made["id"]]
    assert issue["reason"] == "currency_mismatch"
    resolve = f"/admin/payment-issues/{issue['id']}/resolve"
    resolved = client.post(resolve, json={"note": "refunded re_123"}, headers=admin.headers)
    assert resolved.json()["status"] == "resolved"
    assert_error(client.post(resolve, headers=admin.headers), 409, "issue_resolved")
    assert_error(client.post("/admin/payment-issues/999999999/resolve", headers=admin.headers), 404)
    audit = client.get(
        "/admin/audit", params={"target_type": "offer", "target_id": str(made["id"])}, headers=admin.headers
    )
    assert audit.status_code == 200, audit.text
    assert [e["action"] for e in audit.json()["items"]] == ["payment.refund_needed", "offer.accepted"]
    first = client.get("/admin/audit", params={"limit": 1}, headers=admin.headers).json()
    assert len(first["items"]) == 1
    second = client.get("/admin/audit", params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin.headers)
    assert second.json()["items"][0]["id"] != first["items"][0]["id"]
    assert_error(client.get("/admin/audit", headers=person(signer, "nosy").headers), 403)
    assert_error(client.get("/admin/audit", params={"limit": 0}, headers=admin.headers), 400)
