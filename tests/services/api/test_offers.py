"""Offers over real HTTP: bounds, one open offer per user and plate, the state machine, who may
accept (the seller or an administrator, never the buyer), exactly one accepted offer per plate, and
the audit trail."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.services.api.conftest import bearer
from tests.services.api.support import Signer, seed_plate
from tests.services.api.test_health_plates import assert_error


def test_offer_lifecycle(client: httpx.Client, engine: Engine, signer: Signer) -> None:
    plate_id = seed_plate(engine, "OF51 FER", 500_000)  # the platform's own stock: administrators sell it
    alice, bob = bearer(signer.mint(sub="user_offer_alice")), bearer(signer.mint(sub="user_offer_bob"))
    admin = bearer(signer.mint(sub="user_offer_admin", role="admin"))

    made = client.post("/offers", json={"registration": "of51fer", "amount_pence": 450_000}, headers=alice)
    assert made.status_code == 201, made.text
    offer = made.json()
    assert offer["status"] == "open"
    assert offer["registration"] == "OF51 FER"

    second = client.post("/offers", json={"registration": "OF51 FER", "amount_pence": 460_000}, headers=alice)
    assert_error(second, 409, "offer_exists")
    assert client.get("/offers", headers=alice).json()["items"][0]["id"] == offer["id"]
    assert offer["id"] not in [o["id"] for o in client.get("/offers", headers=bob).json()["items"]]
    assert_error(client.get(f"/offers/{offer['id']}", headers=bob), 404)

    # Only the buyer can withdraw; other people's offers do not exist for them.
    assert_error(client.post(f"/offers/{offer['id']}/withdraw", headers=bob), 404)
    withdrawn = client.post(f"/offers/{offer['id']}/withdraw", headers=alice)
    assert withdrawn.json()["status"] == "withdrawn"
    assert_error(client.post(f"/offers/{offer['id']}/withdraw", headers=alice), 409, "offer_not_open")
    assert_error(client.post(f"/offers/{offer['id']}/accept", headers=admin), 409)

    # A new offer is allowed after withdrawing; the buyer cannot accept it, an administrator can.
    again = client.post("/offers", json={"registration": "OF51FER", "amount_pence": 470_000}, headers=alice).json()
    bobs = client.post("/offers", json={"registration": "OF51FER", "amount_pence": 300_000}, headers=bob).json()
    assert_error(client.post(f"/offers/{again['id']}/accept", headers=alice), 403, "forbidden")
    assert_error(client.post(f"/offers/{again['id']}/accept", headers=bob), 404)
    accepted = client.post(f"/offers/{again['id']}/accept", json={"note": "fair"}, headers=admin)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    # Accepting declined Bob's open offer; nothing else can be accepted or offered now.
    assert client.get(f"/offers/{bobs['id']}", headers=bob).json()["status"] == "declined"
    assert_error(client.post(f"/offers/{bobs['id']}/accept", headers=admin), 409, "offer_not_open")
    assert_error(client.post(f"/offers/{again['id']}/reject", headers=admin), 409)
    assert_error(client.post(f"/offers/{again['id']}/withdraw", headers=alice), 409)
    carol = bearer(signer.mint(sub="user_offer_carol2"))
    late = client.post("/offers", json={"registration": "OF51FER", "amount_pence": 100_000}, headers=carol)
    assert_error(late, 409, "plate_under_offer")
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT status FROM plates WHERE id = :id"), {"id": plate_id}).scalar() == "under_offer"
        )
        audit = conn.execute(
            text("SELECT action, details FROM audit_log WHERE target_type = 'offer' AND target_id = :id"),
            {"id": str(again["id"])},
        ).all()
    assert [row.action for row in audit] == ["offer.accepted"]
    assert audit[0].details["amount_pence"] == 470_000
    assert audit[0].details["declined_offers"] == [bobs["id"]]
    everything = client.get("/offers", params={"all": "true"}, headers=admin).json()["items"]
    assert {again["id"], bobs["id"]} <= {o["id"] for o in everything}


def test_seller_rejects_and_strangers_cannot(client: httpx.Client, engine: Engine, signer: Signer) -> None:
    seed_plate(engine, "RJ51 ECT", 200_000)
    buyer = bearer(signer.mint(sub="user_reject_buyer"))
    stranger = bearer(signer.mint(sub="user_reject_stranger"))
    admin = bearer(signer.mint(sub="user_reject_admin", role="admin"))
    made = client.post("/offers", json={"registration": "RJ51ECT", "amount_pence": 150_000}, headers=buyer).json()
    assert_error(client.post(f"/offers/{made['id']}/reject", headers=stranger), 404)
    rejected = client.post(f"/offers/{made['id']}/reject", headers=admin)
    assert rejected.json()["status"] == "rejected"
    assert_error(client.post(f"/offers/{made['id']}/checkout", headers=buyer), 409, "offer_not_accepted")


def test_offer_bounds_and_targets(client: httpx.Client, engine: Engine, signer: Signer) -> None:
    seed_plate(engine, "BO51 UND", 100_000)
    seed_plate(engine, "WD51 RAW", 100_000, status="withdrawn")
    carol = bearer(signer.mint(sub="user_offer_carol"))
    above = client.post("/offers", json={"registration": "BO51UND", "amount_pence": 100_001}, headers=carol)
    assert_error(above, 422, "offer_above_asking")
    assert_error(client.post("/offers", json={"registration": "BO51UND", "amount_pence": 999}, headers=carol), 400)
    assert_error(client.post("/offers", json={"registration": "BO51UND", "amount_pence": -5}, headers=carol), 400)
    assert_error(client.post("/offers", json={"registration": "BO51UND", "amount_pence": "lots"}, headers=carol), 400)
    assert_error(client.post("/offers", json={"registration": "BO51UND"}, headers=carol), 400)
    assert_error(client.post("/offers", json={"registration": "WD51RAW", "amount_pence": 5000}, headers=carol), 404)
    assert_error(client.post("/offers", json={"registration": "QQQQ", "amount_pence": 5000}, headers=carol), 422)
    assert_error(client.post("/offers", content=b"{not json", headers=carol), 400)
    assert_error(client.post("/offers", json={"registration": "BO51UND", "amount_pence": 5000}), 401)
    assert_error(client.post("/offers/999999999/withdraw", headers=carol), 404)
    assert_error(client.post("/offers/9223372036854775808/withdraw", headers=carol), 400)
    assert_error(client.post("/offers/0/withdraw", headers=carol), 400)
