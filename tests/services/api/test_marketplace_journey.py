"""The whole marketplace journey over HTTP, as the people in it take it: a seller claims a mark,
uploads the V5C and is approved; lists it; two buyers offer; the seller accepts one and the other is
declined; the winner checks out through Stripe (the stand-in, through the official library), pays,
Stripe's webhook marks the offer paid and the plate sold; the worker sends the emails; each person
received exactly what concerns them."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from services.local.standins.resend import ResendStandin
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin
from tests.services.api.market import (
    admin_person,
    listed,
    offer,
    one,
    person,
    run_worker,
    send_event,
    subjects_to,
    unique_mark,
)
from tests.services.api.support import Signer
from tests.services.api.test_health_plates import assert_error


def test_claim_list_offer_accept_pay_sold_and_everyone_told(
    client: httpx.Client,
    signer: Signer,
    engine: Engine,
    stripe_standin: Running[StripeStandin],
    resend_standin: Running[ResendStandin],
) -> None:
    seller, alice, bob = person(signer, "seller"), person(signer, "alice"), person(signer, "bob")
    admin = admin_person(signer, engine)
    mark = unique_mark("JR")

    listing = listed(client, seller, admin, mark, 500_000)
    assert listing["status"] == "listed"
    found = client.get(f"/plates/{mark}").json()
    assert found["listing"]["asking_price_pence"] == 500_000
    assert found["valuation"]["estimate_pence"] > 0

    alices = offer(client, alice, mark, 450_000)
    bobs = offer(client, bob, mark, 400_000)
    on_listing = client.get(f"/listings/{listing['id']}/offers", headers=seller.headers).json()
    assert {o["id"] for o in on_listing["offers"]} == {alices["id"], bobs["id"]}

    accepted = client.post(f"/offers/{alices['id']}/accept", headers=seller.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["lapses_at"]
    assert client.get(f"/offers/{bobs['id']}", headers=bob.headers).json()["status"] == "declined"
    assert_error(client.post(f"/offers/{bobs['id']}/accept", headers=seller.headers), 409, "offer_not_open")

    checkout = client.post(f"/offers/{alices['id']}/checkout", headers=alice.headers)
    assert checkout.status_code == 200, checkout.text
    session_id = checkout.json()["session_id"]
    assert checkout.json()["url"].startswith(stripe_standin.base_url + "/c/pay/")
    session = stripe_standin.standin.session(session_id)
    assert (session["amount_total"], session["currency"]) == (450_000, "gbp")
    assert session["metadata"] == {"offer_id": str(alices["id"])}

    stripe_standin.standin.pay(session_id)
    completed = send_event(
        client, stripe_standin, stripe_standin.standin.event("checkout.session.completed", session_id)
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["outcome"] == "paid"
    intent = send_event(client, stripe_standin, stripe_standin.standin.event("payment_intent.succeeded", session_id))
    assert intent.json()["outcome"] == "already_paid"

    assert client.get(f"/offers/{alices['id']}", headers=alice.headers).json()["status"] == "paid"
    assert one(engine, "SELECT status FROM plates WHERE id = :id", id=listing["id"]).status == "sold"
    assert client.get(f"/plates/{mark}").json()["listing"] is None
    assert_error(client.post("/offers", json={"registration": mark, "amount_pence": 450_000}, headers=bob.headers), 404)

    report = run_worker(engine, resend_standin)
    assert report["emails"]["failed"] == 0
    display = f"{mark[:4]} {mark[4:]}"
    assert subjects_to(resend_standin, seller.email) == [
        f"Your claim to {display} was approved",
        f"New offer of £4,500 on {display}",
        f"New offer of £4,000 on {display}",
        f"{display} is sold",
    ]
    assert subjects_to(resend_standin, alice.email) == [
        f"Your offer on {display} was accepted",
        f"Payment received for {display}",
    ]
    assert subjects_to(resend_standin, bob.email) == [f"Your offer on {display} was declined"]
    declined = resend_standin.standin.emails_to(bob.email)[0]
    assert "the seller accepted another offer" in declined["text"]
    # Sent once each: a second run finds nothing due.
    assert run_worker(engine, resend_standin)["emails"]["sent"] == 0
