"""Auction events over real HTTP: an administrator adds an event, the scraper's scheduled run (against
the stand-in auctioneer, real sockets) imports it, and the administrator sees how the import went."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.models import AuditLog
from services.scraper.events import run_due_events
from tests.services.api.conftest import bearer
from tests.services.api.support import Signer
from tests.services.api.test_health_plates import assert_error
from tests.services.scraper.auctioneer import file_reply, serve_auctioneer
from tests.services.scraper.database import without_auction_data
from tests.services.scraper.results_files import excel_bytes, lots


@pytest.fixture
def no_events(engine: Engine) -> Iterator[Engine]:
    with without_auction_data(engine) as clean:
        yield clean


def test_an_admin_adds_an_event_and_the_next_run_imports_it(
    client: httpx.Client, signer: Signer, no_events: Engine
) -> None:
    admin = bearer(signer.mint(sub="user_events_admin", role="admin"))

    added = client.post("/auction-events", json={"event_id": "4321"}, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()["added"] is True
    assert added.json()["event"] | {"created_at": None} == {
        "event_id": "4321",
        "status": "pending",
        "name": None,
        "sale_date": None,
        "lots_imported": 0,
        "rows_rejected": 0,
        "conflicts": 0,
        "problems": [],
        "last_error": None,
        "attempts": 0,
        "last_attempt_at": None,
        "last_imported_at": None,
        "created_at": None,
    }
    again = client.post("/auction-events", json={"event_id": "4321"}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["added"] is False

    with serve_auctioneer() as auctioneer:
        workbook = excel_bytes([*lots(["AB12 CDE", "1 A"]), (3, "NOT A MARK!", 250, 400)], title="Timed auction")
        auctioneer.replies["4321"] = file_reply(workbook)
        report = run_due_events(no_events, auctioneer.settings())  # no configured ids: the admin's event is due
    assert [(e.event_id, e.result) for e in report.events] == [("4321", "imported")]

    listed = client.get("/auction-events", headers=admin)
    assert listed.status_code == 200, listed.text
    (event,) = listed.json()["items"]
    assert (event["status"], event["name"], event["lots_imported"], event["rows_rejected"]) == (
        "imported",
        "Timed auction",
        2,
        1,
    )
    (problem,) = event["problems"]  # the title, a blank row, the header, two good lots: the bad lot is line 6
    assert problem["line"] == 6
    assert problem["message"].startswith("registration 'NOT A MARK!'")
    with Session(no_events) as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.target_id == "4321")).all()
    assert actions == ["auction_event.add", "auction_event.add"]


def test_only_administrators_see_or_add_events_and_bad_ids_are_refused(
    client: httpx.Client, signer: Signer, no_events: Engine
) -> None:
    user = bearer(signer.mint(sub="user_events_someone"))
    admin = bearer(signer.mint(sub="user_events_admin", role="admin"))
    assert_error(client.post("/auction-events", json={"event_id": "1"}), 401)
    assert_error(client.post("/auction-events", json={"event_id": "1"}, headers=user), 403)
    assert_error(client.get("/auction-events", headers=user), 403)
    for bad in ({"event_id": "12 34"}, {"event_id": "x" * 33}, {"event_id": ""}, {"event_id": 1234}, {}):
        assert_error(client.post("/auction-events", json=bad, headers=admin), 400)
    assert client.get("/auction-events", headers=admin).json() == {"items": [], "next_cursor": None}
