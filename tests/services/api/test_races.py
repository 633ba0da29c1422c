"""The steps that involve money, raced: concurrent requests against the API under uvicorn (its worker
threads run them in parallel against PostgreSQL), then the database's own guarantee checked directly."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin
from services.local.standins.stripe_events import deliver
from tests.services.api.market import admin_person, offer, person, unique_mark, webhook_url
from tests.services.api.support import Signer, seed_plate
from tests.services.api.test_payments import accepted_and_checked_out, status_of

RACERS = 6


def _race(calls: list[Any]) -> list[httpx.Response]:
    """Run every call at once (a barrier releases them together) and return their answers in order."""
    start = Barrier(len(calls))

    def run(call: Any) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_accepts_of_different_offers_accept_exactly_one(
    api_url: str, signer: Signer, engine: Engine
) -> None:
    mark = unique_mark("RA")
    plate_id = seed_plate(engine, mark, 900_000)
    admin = admin_person(signer, engine, "racer")
    base = api_url + "/api/v1"
    with httpx.Client(base_url=base, timeout=30) as client:
        offers = [offer(client, person(signer, f"bidder{i}"), mark, 500_000 + i) for i in range(RACERS)]
    accepts = [
        lambda o=o: httpx.post(f"{base}/offers/{o['id']}/accept", headers=admin.headers, timeout=30) for o in offers
    ]
    answers = _race(accepts)
    assert sorted(a.status_code for a in answers) == [200] + [409] * (RACERS - 1), [a.text for a in answers]
    with engine.connect() as conn:
        statuses = Counter(
            conn.execute(text("SELECT status FROM offers WHERE plate_id = :p"), {"p": plate_id}).scalars()
        )
    assert statuses == {"accepted": 1, "declined": RACERS - 1}


def test_the_database_refuses_a_second_accepted_offer_whatever_the_code_does(engine: Engine, signer: Signer) -> None:
    mark = unique_mark("DB")
    plate_id = seed_plate(engine, mark, 100_000)
    with engine.begin() as conn:
        buyers = [
            conn.execute(
                text("INSERT INTO users (clerk_user_id) VALUES (:c) RETURNING id"), {"c": f"user_db_{mark}_{i}"}
            ).scalar_one()
            for i in range(2)
        ]
        for buyer in buyers:
            conn.execute(
                text("INSERT INTO offers (plate_id, buyer_id, amount_pence, status) VALUES (:p, :b, 5000, 'open')"),
                {"p": plate_id, "b": buyer},
            )
        conn.execute(
            text("UPDATE offers SET status = 'accepted' WHERE plate_id = :p AND buyer_id = :b"),
            {"p": plate_id, "b": buyers[0]},
        )
    for status in ("accepted", "payment_pending", "paid"):
        with pytest.raises(IntegrityError, match="uq_offers_one_holding_per_plate"), engine.begin() as conn:
            conn.execute(
                text("UPDATE offers SET status = :s WHERE plate_id = :p AND buyer_id = :b"),
                {"s": status, "p": plate_id, "b": buyers[1]},
            )


def test_concurrent_checkout_requests_create_one_session(
    client: httpx.Client, api_url: str, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    mark = unique_mark("CO")
    seed_plate(engine, mark, 300_000)
    buyer = person(signer, "hasty")
    admin = admin_person(signer, engine, "checkout")
    made = offer(client, buyer, mark, 250_000)
    client.post(f"/offers/{made['id']}/accept", headers=admin.headers)
    url = f"{api_url}/api/v1/offers/{made['id']}/checkout"
    answers = _race([lambda: httpx.post(url, headers=buyer.headers, timeout=30) for _ in range(RACERS)])
    assert [a.status_code for a in answers] == [200] * RACERS, [a.text for a in answers]
    assert len({a.json()["session_id"] for a in answers}) == 1
    created = [s for s in stripe_standin.standin.sessions if s["metadata"].get("offer_id") == str(made["id"])]
    assert len(created) == 1


def test_duplicate_and_concurrent_webhooks_are_processed_once(
    client: httpx.Client, signer: Signer, engine: Engine, stripe_standin: Running[StripeStandin]
) -> None:
    _, made, session_id = accepted_and_checked_out(client, signer, engine)
    stripe_standin.standin.pay(session_id)
    completed = stripe_standin.standin.sign(stripe_standin.standin.event("checkout.session.completed", session_id))
    intent = stripe_standin.standin.sign(stripe_standin.standin.event("payment_intent.succeeded", session_id))
    url = webhook_url(client)
    # The same delivery several times at once (Stripe retrying), and the other event of the payment.
    answers = _race([lambda: deliver(url, completed)] * (RACERS - 1) + [lambda: deliver(url, intent)])
    assert [a.status_code for a in answers] == [200] * RACERS, [a.text for a in answers]
    outcomes = Counter(a.json()["outcome"] for a in answers)
    assert outcomes["paid"] == 1
    assert outcomes[None] == RACERS - 2  # the duplicates of the first delivery
    assert outcomes["already_paid"] + outcomes["paid"] == 2
    assert status_of(engine, made["id"]) == ("paid", "sold")
    with engine.connect() as conn:
        paid_emails = conn.execute(
            text("SELECT count(*) FROM email_outbox WHERE kind = 'offer_paid_buyer' AND user_id = ("
                 "SELECT buyer_id FROM offers WHERE id = :id)"),
            {"id": made["id"]},
        ).scalar_one()  # fmt: skip
    assert paid_emails == 1
    # Later retries of either are duplicates.
    assert deliver(url, completed).json()["duplicate"] is True
