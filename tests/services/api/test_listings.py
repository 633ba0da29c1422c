"""Listings over HTTP: only the approved owner lists, with bounds; the seller edits and withdraws;
an administrator takes a listing down; a lapsed offer lists the plate again."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from services.local.standins.resend import ResendStandin
from services.local.standins.server import Running
from tests.services.api.market import (
    admin_person,
    approved_owner,
    listed,
    offer,
    one,
    person,
    run_worker,
    subjects_to,
    unique_mark,
)
from tests.services.api.support import Signer
from tests.services.api.test_health_plates import assert_error


def test_only_the_approved_owner_lists_and_edits(client: httpx.Client, signer: Signer, engine: Engine) -> None:
    owner, other = person(signer, "owner"), person(signer, "other")
    admin = admin_person(signer, engine)
    mark = unique_mark("LS")
    body = {"registration": mark, "asking_price_pence": 120_000, "description": "One owner"}
    assert_error(client.post("/listings", json=body, headers=owner.headers), 403, "not_owner")  # no claim yet
    claim = client.post("/claims", json={"registration": mark}, headers=owner.headers).json()
    assert_error(client.post("/listings", json=body, headers=owner.headers), 403, "not_owner")  # still pending
    client.post(f"/claims/{claim['id']}/reject", headers=admin.headers)
    approved_owner(client, owner, admin, mark)
    assert_error(client.post("/listings", json=body, headers=other.headers), 403, "not_owner")
    for bad in ({**body, "asking_price_pence": 999}, {**body, "asking_price_pence": 10**13}, {"registration": mark}):
        assert_error(client.post("/listings", json=bad, headers=owner.headers), 400)
    assert_error(client.post("/listings", json={**body, "registration": "QQQQ"}, headers=owner.headers), 422)

    created = client.post("/listings", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    listing = created.json()
    assert (listing["status"], listing["asking_price_pence"], listing["description"]) == (
        "listed",
        120_000,
        "One owner",
    )
    assert_error(client.post("/listings", json=body, headers=owner.headers), 409, "already_listed")
    assert client.get(f"/plates/{mark}").json()["listing"]["asking_price_pence"] == 120_000
    assert mark in [i["normalized"] for i in client.get("/plates", params={"pattern": mark}).json()["items"]]

    changed = client.patch(f"/listings/{listing['id']}", json={"asking_price_pence": 99_500}, headers=owner.headers)
    assert changed.json()["asking_price_pence"] == 99_500
    assert changed.json()["description"] == "One owner"
    assert_error(client.patch(f"/listings/{listing['id']}", json={"asking_price_pence": 5}, headers=owner.headers), 400)
    assert_error(client.patch(f"/listings/{listing['id']}", json={}, headers=other.headers), 404)
    assert [item["id"] for item in client.get("/listings", headers=owner.headers).json()["items"]] == [listing["id"]]
    assert_error(client.get(f"/listings/{listing['id']}/offers", headers=other.headers), 404)
    assert_error(client.post(f"/listings/{listing['id']}/unlist", headers=owner.headers), 403)


def test_withdraw_relist_and_admin_unlist_decline_offers(
    client: httpx.Client, signer: Signer, engine: Engine, resend_standin: Running[ResendStandin]
) -> None:
    owner, buyer, second = person(signer, "seller2"), person(signer, "buyer2"), person(signer, "buyer3")
    admin = admin_person(signer, engine)
    mark = unique_mark("WD")
    listing = listed(client, owner, admin, mark, 300_000)
    first = offer(client, buyer, mark, 200_000)
    withdrawn = client.post(f"/listings/{listing['id']}/withdraw", headers=owner.headers)
    assert withdrawn.json()["status"] == "withdrawn"
    assert client.get(f"/offers/{first['id']}", headers=buyer.headers).json()["status"] == "declined"
    assert_error(
        client.post("/offers", json={"registration": mark, "amount_pence": 200_000}, headers=buyer.headers), 404
    )
    assert_error(
        client.patch(f"/listings/{listing['id']}", json={"asking_price_pence": 2000}, headers=owner.headers), 409
    )

    relisted = client.post(
        "/listings", json={"registration": mark, "asking_price_pence": 250_000}, headers=owner.headers
    )
    assert relisted.status_code == 201, relisted.text
    assert relisted.json()["id"] == listing["id"]
    held = offer(client, buyer, mark, 240_000)
    waiting = offer(client, second, mark, 230_000)
    assert client.post(f"/offers/{held['id']}/accept", headers=owner.headers).status_code == 200
    assert_error(client.post(f"/listings/{listing['id']}/withdraw", headers=owner.headers), 409, "offer_accepted")

    unlisted = client.post(f"/listings/{listing['id']}/unlist", headers=admin.headers)
    assert unlisted.json()["status"] == "unlisted"
    assert client.get(f"/offers/{held['id']}", headers=buyer.headers).json()["status"] == "declined"
    assert client.get(f"/offers/{waiting['id']}", headers=second.headers).json()["status"] == "declined"
    assert_error(client.post(f"/offers/{held['id']}/checkout", headers=buyer.headers), 409, "offer_not_accepted")
    again = {"registration": mark, "asking_price_pence": 250_000}
    assert_error(client.post("/listings", json=again, headers=owner.headers), 409, "listing_unlisted")
    actions = client.get(
        "/admin/audit", params={"target_type": "plate", "target_id": str(listing["id"])}, headers=admin.headers
    )
    assert [e["action"] for e in actions.json()["items"]][:2] == ["listing.unlisted", "listing.listed"]
    run_worker(engine, resend_standin)
    assert "was declined" in subjects_to(resend_standin, buyer.email)[-1]


def test_an_unpaid_accepted_offer_lapses_and_the_plate_is_listed_again(
    client: httpx.Client, signer: Signer, engine: Engine, resend_standin: Running[ResendStandin]
) -> None:
    owner, buyer, later = person(signer, "seller3"), person(signer, "slow"), person(signer, "later")
    admin = admin_person(signer, engine)
    mark = unique_mark("LA")
    listing = listed(client, owner, admin, mark, 300_000)
    made = offer(client, buyer, mark, 280_000)
    assert client.post(f"/offers/{made['id']}/accept", headers=owner.headers).status_code == 200
    assert run_worker(engine, resend_standin)["lapse"]["lapsed"] == []  # not due for days
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE offers SET lapses_at = now() - interval '1 minute' WHERE id = :id"), {"id": made["id"]}
        )
    assert made["id"] in run_worker(engine, resend_standin)["lapse"]["lapsed"]
    assert client.get(f"/offers/{made['id']}", headers=buyer.headers).json()["status"] == "lapsed"
    assert one(engine, "SELECT status FROM plates WHERE id = :id", id=listing["id"]).status == "listed"
    assert_error(client.post(f"/offers/{made['id']}/checkout", headers=buyer.headers), 409, "offer_not_accepted")
    assert subjects_to(resend_standin, buyer.email)[-1].endswith("has lapsed")
    assert offer(client, later, mark, 290_000)["status"] == "open"  # the plate takes offers again
