"""Helpers for the marketplace tests: people with tokens and addresses, an approved owner, Stripe
deliveries, and the worker run the scheduler would make."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, text

from services.core.external.email import Mailer, ResendSettings
from services.local.standins.resend import ResendStandin
from services.local.standins.server import Running
from services.local.standins.stripe import StripeStandin
from services.local.standins.stripe_events import deliver
from services.worker.jobs import run_once
from tests.services.api.support import Signer

PDF = b"%PDF-1.7\n" + b"0" * 2048


@dataclass(frozen=True)
class Person:
    sub: str
    email: str
    headers: dict[str, str]


def person(signer: Signer, name: str, *, role: str = "user") -> Person:
    """A signed-in person with a unique Clerk id and address (tests share one database)."""
    sub = f"user_{name}_{uuid.uuid4().hex[:8]}"
    email = f"{sub}@example.com"
    token = signer.mint(sub=sub, role=role, email=email, ttl_s=3600)
    return Person(sub=sub, email=email, headers={"Authorization": f"Bearer {token}"})


def unique_mark(prefix: str = "") -> str:
    """A current-format mark nobody else in the run uses: two letters, ``51``, three letters."""
    letters = "ABCDEFGHJKLMNOPRSTUVWXY"
    tail = "".join(letters[b % len(letters)] for b in uuid.uuid4().bytes[:5])
    return (prefix + tail)[:2] + "51" + tail[2:5]


def approved_owner(client: httpx.Client, owner: Person, admin: Person, mark: str) -> dict[str, Any]:
    """``owner`` claims ``mark``, uploads a V5C (a real PUT to the presigned URL), confirms it, and
    ``admin`` approves the claim; returns the approved claim."""
    claim = client.post("/claims", json={"registration": mark}, headers=owner.headers)
    assert claim.status_code == 201, claim.text
    claim_id = claim.json()["id"]
    declared = client.post(
        f"/claims/{claim_id}/documents",
        json={"content_type": "application/pdf", "size_bytes": len(PDF)},
        headers=owner.headers,
    ).json()
    put = httpx.put(declared["upload"]["url"], content=PDF, headers=declared["upload"]["headers"])
    assert put.status_code == 200, put.text
    confirmed = client.post(f"/claims/{claim_id}/documents/{declared['document']['id']}/confirm", headers=owner.headers)
    assert confirmed.status_code == 200, confirmed.text
    approved = client.post(f"/claims/{claim_id}/approve", json={"note": "V5C matches"}, headers=admin.headers)
    assert approved.status_code == 200, approved.text
    return approved.json()


def listed(client: httpx.Client, owner: Person, admin: Person, mark: str, price_pence: int) -> dict[str, Any]:
    approved_owner(client, owner, admin, mark)
    listing = client.post(
        "/listings", json={"registration": mark, "asking_price_pence": price_pence}, headers=owner.headers
    )
    assert listing.status_code == 201, listing.text
    return listing.json()


def offer(client: httpx.Client, buyer: Person, mark: str, amount_pence: int) -> dict[str, Any]:
    made = client.post("/offers", json={"registration": mark, "amount_pence": amount_pence}, headers=buyer.headers)
    assert made.status_code == 201, made.text
    return made.json()


def webhook_url(client: httpx.Client) -> str:
    return f"{client.base_url}/webhooks/stripe"


def send_event(client: httpx.Client, stripe: Running[StripeStandin], event: dict[str, Any]) -> httpx.Response:
    """POST ``event`` to the API's webhook signed with the endpoint secret, exactly as Stripe would."""
    return deliver(webhook_url(client), stripe.standin.sign(event))


def admin_person(signer: Signer, engine: Engine, name: str = "admin") -> Person:
    """An administrator known to the database (so admin emails have a recipient)."""
    admin = person(signer, name, role="admin")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (clerk_user_id, email, role) VALUES (:s, :e, 'admin') "
                "ON CONFLICT (clerk_user_id) DO NOTHING"
            ),
            {"s": admin.sub, "e": admin.email},
        )
    return admin


def mailer(resend: Running[ResendStandin]) -> Mailer:
    return Mailer(
        ResendSettings(
            api_key=resend.standin.api_key, sender="Reggie <notifications@reggie.test>", api_url=resend.base_url
        )
    )


def run_worker(engine: Engine, resend: Running[ResendStandin]) -> dict[str, Any]:
    """One worker run, as the schedule makes it: lapse what is due, send the outbox."""
    return run_once(engine, mailer(resend))


def subjects_to(resend: Running[ResendStandin], address: str) -> list[str]:
    return [email["subject"] for email in resend.standin.emails_to(address)]


def one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()
