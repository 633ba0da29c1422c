"""Cursor paging of every list an administrator reads (claims, offers, auction events, the audit log, payment
issues), over HTTP against the suite's PostgreSQL: rows written in the same instant still come once each, in
a stable order, page after page; a bad cursor or limit is a 400 with a code."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.services.api.market import Person, admin_person, listed, offer, person, unique_mark
from tests.services.api.support import Signer
from tests.services.api.test_health_plates import assert_error

SAME_INSTANT = "2100-01-01T00:00:00+00:00"
"""Later than anything else the suite writes, so these rows make the first pages; all in one instant, so only
the tiebreaker orders them."""


@dataclass(frozen=True)
class World:
    client: httpx.Client
    engine: Engine
    signer: Signer
    admin: Person

    def someone(self) -> Person:
        return person(self.signer, "paging")


Maker = Callable[[World, int], list[Any]]


def _claims(world: World, n: int) -> list[Any]:
    made = [
        world.client.post("/claims", json={"registration": unique_mark("N")}, headers=world.someone().headers)
        for _ in range(n)
    ]
    assert all(m.status_code == 201 for m in made), [m.text for m in made]
    return [m.json()["id"] for m in made]


def _offers(world: World, n: int) -> list[Any]:
    keys = []
    for _ in range(n):
        mark = unique_mark("M")
        listed(world.client, world.someone(), world.admin, mark, 100_000)
        keys.append(offer(world.client, world.someone(), mark, 50_000)["id"])
    return keys


def _auction_events(world: World, n: int) -> list[Any]:
    keys = ["pg" + uuid.uuid4().hex[:12] for _ in range(n)]
    for event_id in keys:
        added = world.client.post("/auction-events", json={"event_id": event_id}, headers=world.admin.headers)
        assert added.status_code == 201, added.text
    return keys


def _inserted(table: str, columns: str, values: str) -> Maker:
    """Rows the API writes only on webhooks or admin actions, inserted directly (``:tag`` is unique)."""

    def make(world: World, n: int) -> list[Any]:
        insert = text(f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id")
        with world.engine.begin() as conn:
            return [conn.execute(insert, {"tag": uuid.uuid4().hex}).scalar_one() for _ in range(n)]

    return make


@dataclass(frozen=True)
class AdminList:
    path: str
    params: dict[str, str]
    table: str
    key: str
    """The unique key: the item's field and the table's column."""
    make: Maker


LISTS = (
    AdminList("/claims", {"all": "true"}, "claims", "id", _claims),
    AdminList("/offers", {"all": "true"}, "offers", "id", _offers),
    AdminList("/auction-events", {}, "auction_events", "event_id", _auction_events),
    AdminList(
        "/admin/audit",
        {},
        "audit_log",
        "id",
        _inserted("audit_log", "action, target_type, target_id", "'paging.test', 'test', :tag"),
    ),
    AdminList(
        "/admin/payment-issues",
        {},
        "payment_issues",
        "id",
        _inserted(
            "payment_issues",
            "kind, reason, provider, payment_key, event_id, event_type",
            "'refund_needed', 'paging_test', 'stripe', :tag, :tag, 'test'",
        ),
    ),
)


@pytest.fixture
def world(client: httpx.Client, engine: Engine, signer: Signer) -> World:
    return World(client, engine, signer, admin_person(signer, engine, "paging-admin"))


@pytest.fixture(params=LISTS, ids=[a.path for a in LISTS])
def rows_in_one_instant(request: pytest.FixtureRequest, world: World) -> Iterator[tuple[AdminList, list[Any]]]:
    """Five rows of the list, all stamped with :data:`SAME_INSTANT`; stamped now again afterwards, so the
    rest of the suite sees its own rows first."""
    admin_list: AdminList = request.param
    keys = admin_list.make(world, 5)
    stamp = text(
        f"UPDATE {admin_list.table} SET created_at = CAST(:at AS timestamptz) WHERE {admin_list.key} = ANY(:keys)"
    )
    with world.engine.begin() as conn:
        conn.execute(stamp, {"at": SAME_INSTANT, "keys": keys})
    try:
        yield admin_list, keys
    finally:
        with world.engine.begin() as conn:
            conn.execute(stamp, {"at": "now", "keys": keys})


def test_every_admin_list_pages_rows_of_one_instant_once_each_in_key_order(
    world: World, rows_in_one_instant: tuple[AdminList, list[Any]]
) -> None:
    admin_list, keys = rows_in_one_instant
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(3):  # pages of two: two, two, then the fifth
        params = {**admin_list.params, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        answer = world.client.get(admin_list.path, params=params, headers=world.admin.headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) == 2 or len(seen) == 4
        seen += [item[admin_list.key] for item in page["items"]][: 5 - len(seen)]
        cursor = page["next_cursor"]
        assert (cursor is None) == (len(page["items"]) < 2)  # only a short page is the last
    assert seen == sorted(keys, reverse=True)  # the tiebreaker, descending like the time
    # A row added while the administrator pages (newer, so before the first page) moves nothing later on.
    admin_list.make(world, 1)
    again = world.client.get(
        admin_list.path,
        params={**admin_list.params, "limit": "2", "cursor": _cursor_after(world, admin_list, keys)},
        headers=world.admin.headers,
    ).json()
    assert [item[admin_list.key] for item in again["items"]] == sorted(keys, reverse=True)[2:4]


def _cursor_after(world: World, admin_list: AdminList, keys: list[Any]) -> str:
    """The cursor the first page of two gave (asked again, as a client keeping it would hold it)."""
    first = world.client.get(
        admin_list.path, params={**admin_list.params, "limit": "2"}, headers=world.admin.headers
    ).json()
    assert [item[admin_list.key] for item in first["items"]] == sorted(keys, reverse=True)[:2]
    return first["next_cursor"]


def _forged(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("admin_list", LISTS, ids=[a.path for a in LISTS])
def test_a_bad_cursor_or_limit_is_a_400_with_a_code(world: World, admin_list: AdminList) -> None:
    name = "audit" if admin_list.table == "audit_log" else admin_list.table  # the list's name in its cursors
    other = "claims" if name != "claims" else "offers"
    key = "x" if admin_list.key == "id" else 1
    for cursor in (
        "not-a-cursor",
        "%%%",
        _forged(["nope"]),
        _forged([other, SAME_INSTANT, 1]),  # another list's
        _forged([name, SAME_INSTANT, key]),  # a key of the wrong type
        _forged([name, "2100-01-01T00:00:00", key if admin_list.key != "id" else 1]),  # no time zone
        _forged([name, SAME_INSTANT, 2**70]),  # beyond a bigint
    ):
        answer = world.client.get(
            admin_list.path, params={**admin_list.params, "cursor": cursor}, headers=world.admin.headers
        )
        assert_error(answer, 400, "invalid_cursor")
    for limit in ("0", "201", "ten"):
        answer = world.client.get(
            admin_list.path, params={**admin_list.params, "limit": limit}, headers=world.admin.headers
        )
        assert_error(answer, 400)


def test_a_user_pages_their_own_claims(world: World) -> None:
    owner = world.someone()
    made = [
        world.client.post("/claims", json={"registration": unique_mark("R")}, headers=owner.headers).json()["id"]
        for _ in range(3)
    ]
    first = world.client.get("/claims", params={"limit": 2}, headers=owner.headers).json()
    second = world.client.get(
        "/claims", params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers
    ).json()
    assert [c["id"] for c in first["items"] + second["items"]] == sorted(made, reverse=True)
    assert second["next_cursor"] is None
