"""The scheduled scraper against a local HTTP server (real sockets) standing in for the auctioneer's
``/Event/DownloadExcel?EventID=<id>``, writing to real PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from infra.links import settings_of
from services.core import contract
from services.core.auction_events import InvalidEventId, register_event
from services.core.models import AuctionEvent, Sale
from services.core.settings import SettingsError
from services.scraper.deploy import SPEC as SCRAPER_SPEC
from services.scraper.events import run_due_events
from services.scraper.handler import handler
from services.scraper.settings import DEFAULT_URL_TEMPLATE, load_scraper_settings
from tests.services.scraper.auctioneer import Auctioneer, drip_reply, file_reply, status_reply
from tests.services.scraper.results_files import declare_dimension, excel_bytes, lots


def _event(engine: Engine, event_id: str) -> AuctionEvent:
    with Session(engine) as session:
        event = session.get(AuctionEvent, event_id)
        assert event is not None
        session.expunge(event)
        return event


def _sales(engine: Engine, event_id: str) -> list[tuple[int, str, int | None]]:
    with Session(engine) as session:
        query = select(Sale.lot_number, Sale.registration_display, Sale.hammer_price_pence)
        rows = session.execute(query.where(Sale.auction_id == f"dvla-event-{event_id}").order_by(Sale.lot_number))
        return [(int(lot), str(reg), price) for lot, reg, price in rows.all()]


def _results(report: object) -> dict[str, str]:
    events = getattr(report, "events")  # noqa: B009 - typed as RunReport in the tests below
    return {e.event_id: e.result for e in events}


def test_two_weekly_runs_with_new_lots_both_import(engine: Engine, auctioneer: Auctioneer) -> None:
    auctioneer.replies["101"] = file_reply(excel_bytes(lots(["AB12 CDE", "1 A"]), title="Timed auction 14 March"))
    week_one = run_due_events(engine, auctioneer.settings("101"))
    assert _results(week_one) == {"101": "imported"}
    assert week_one.registered == 1
    assert _sales(engine, "101") == [(1, "AB12 CDE", 30_000), (2, "1 A", 31_000)]
    event = _event(engine, "101")
    assert (event.status, event.lots_imported, event.name, event.sale_date, event.attempts) == (
        "imported",
        2,
        "Timed auction 14 March",
        date(2024, 3, 14),
        1,
    )

    # The next week's event restarts at lot 1 with other marks: its lots are new, not "already present".
    auctioneer.replies["102"] = file_reply(excel_bytes(lots(["S1 MON", "J4 MES", "JAM 35"])))
    week_two = run_due_events(engine, auctioneer.settings("101", "102"))
    assert _results(week_two) == {"101": "unchanged", "102": "imported"}
    assert _sales(engine, "101") == [(1, "AB12 CDE", 30_000), (2, "1 A", 31_000)]
    assert [reg for _, reg, _ in _sales(engine, "102")] == ["S1 MON", "J4 MES", "JAM 35"]
    assert _event(engine, "102").lots_imported == 3


def test_a_republished_event_is_imported_again_idempotently(engine: Engine, auctioneer: Auctioneer) -> None:
    auctioneer.replies["201"] = file_reply(excel_bytes(lots(["AB12 CDE", "1 A", "S1 MON"])))
    run_due_events(engine, auctioneer.settings("201"))
    first_hash = _event(engine, "201").content_hash
    corrected = [(1, "AB12 CDE", 250, 300), (2, "1 A", 250, 45_000), (3, "J4 MES", 250, 500), (4, "JAM 35", 250, 900)]
    auctioneer.replies["201"] = file_reply(excel_bytes(corrected))

    again = run_due_events(engine, auctioneer.settings("201"))
    outcome = again.events[0]
    assert outcome.result == "imported"
    assert outcome.report is not None
    assert (outcome.report.inserted, outcome.report.updated, outcome.report.unchanged) == (1, 1, 1)
    assert outcome.report.conflict_count == 1
    assert _sales(engine, "201") == [
        (1, "AB12 CDE", 30_000),
        (2, "1 A", 4_500_000),
        (3, "S1 MON", 32_000),
        (4, "JAM 35", 90_000),
    ]
    event = _event(engine, "201")
    assert event.content_hash != first_hash
    assert (event.lots_imported, event.conflicts, event.attempts) == (4, 1, 2)

    # The same re-published file once more: nothing to do.
    assert _results(run_due_events(engine, auctioneer.settings("201"))) == {"201": "unchanged"}
    assert len(_sales(engine, "201")) == 4


def test_a_server_error_and_a_timeout_are_recorded_and_retried_next_run(engine: Engine, auctioneer: Auctioneer) -> None:
    good = excel_bytes(lots(["AB12 CDE"]))
    auctioneer.replies["301"] = status_reply(503)
    auctioneer.replies["302"] = file_reply(good, delay=3)
    start = time.monotonic()
    failed = run_due_events(engine, auctioneer.settings("301", "302", timeout=1))
    assert time.monotonic() - start < 10
    assert _results(failed) == {"301": "failed", "302": "failed"}
    server_error, timeout = _event(engine, "301"), _event(engine, "302")
    assert (server_error.status, server_error.attempts, server_error.last_error) == (
        "failed",
        1,
        "the server answered 503 Service Unavailable",
    )
    assert (timeout.status, timeout.last_error) == ("failed", "the server did not answer within 1 s")

    auctioneer.replies["301"] = file_reply(good)
    auctioneer.replies["302"] = file_reply(good)
    retried = run_due_events(engine, auctioneer.settings("301", "302", timeout=5))
    assert _results(retried) == {"301": "imported", "302": "imported"}
    for event_id in ("301", "302"):
        event = _event(engine, event_id)
        assert (event.status, event.attempts, event.last_error) == ("imported", 2, None)


def test_unpublished_slow_oversized_and_malformed_files_are_bounded_and_reported(
    engine: Engine, auctioneer: Auctioneer
) -> None:
    marks = [f"A {i}" for i in range(1, 3_001)]
    auctioneer.replies["402"] = drip_reply(chunks=50, pause=0.1)  # never finishes within 1 s
    auctioneer.replies["403"] = file_reply(b"lot_no,reg,current_price\n")  # published, but no lots yet
    auctioneer.replies["404"] = file_reply(b"<html>Event not found</html>")
    auctioneer.replies["405"] = file_reply(declare_dimension(excel_bytes(lots(marks)), "A1:XFD1048576"))
    start = time.monotonic()
    run = run_due_events(engine, auctioneer.settings("401", "402", "403", "404", "405", timeout=1))
    assert time.monotonic() - start < 30
    assert _results(run) == {"401": "waiting", "402": "failed", "403": "waiting", "404": "failed", "405": "imported"}
    assert _event(engine, "401").last_error == "no results published yet (the server answered 404)"
    assert _event(engine, "401").status == "pending"
    assert _event(engine, "402").last_error == "the download took longer than 1 s"
    assert _event(engine, "403").last_error == "the results file lists no lots yet"
    assert str(_event(engine, "404").last_error).startswith("unreadable results file: no header row")
    assert _event(engine, "405").lots_imported == 3_000


def test_a_bad_row_in_an_event_file_is_reported_on_the_event(engine: Engine, auctioneer: Auctioneer) -> None:
    auctioneer.replies["501"] = file_reply(excel_bytes([(1, "AB12 CDE", 250, 300), (2, "QQQ 1", 250, "call us")]))
    run_due_events(engine, auctioneer.settings("501"))
    event = _event(engine, "501")
    assert (event.status, event.lots_imported, event.rows_rejected) == ("imported", 1, 1)
    assert event.problems is not None
    assert event.problems[0]["line"] == 3
    assert "QQQ 1" in event.problems[0]["message"]


def test_events_added_by_an_admin_are_fetched_and_a_deadline_defers_the_rest(
    engine: Engine, auctioneer: Auctioneer
) -> None:
    with Session(engine) as session, session.begin():
        event, created = register_event(session, "601")
        assert (created, event.status) == (True, "pending")
        assert register_event(session, " 601 ")[1] is False
        with pytest.raises(InvalidEventId, match="not an auction event id"):
            register_event(session, "../etc/passwd")
    auctioneer.replies["601"] = file_reply(excel_bytes(lots(["AB12 CDE"])))
    deferred = run_due_events(engine, auctioneer.settings(), deadline=time.monotonic() + 1)
    assert _results(deferred) == {"601": "deferred"}
    assert auctioneer.requests == []
    assert _results(run_due_events(engine, auctioneer.settings())) == {"601": "imported"}

    # A failed event added again by the admin is put back in line.
    auctioneer.replies["602"] = status_reply(500)
    run_due_events(engine, auctioneer.settings("602"))
    with Session(engine) as session, session.begin():
        assert register_event(session, "602")[0].status == "pending"


def test_the_lambda_handler_runs_the_schedule_and_one_event(
    engine: Engine, auctioneer: Auctioneer, monkeypatch: pytest.MonkeyPatch, migrated_database_url: str
) -> None:
    from services.core import db, settings

    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("SERVICE_NAME", "scraper")
    monkeypatch.setenv("DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AUCTION_EVENT_IDS", "701")
    monkeypatch.setenv("AUCTION_RESULTS_URL_TEMPLATE", auctioneer.url_template)
    auctioneer.replies["701"] = file_reply(excel_bytes(lots(["AB12 CDE"])))
    auctioneer.replies["702"] = file_reply(excel_bytes(lots(["1 A", "S1 MON"])))
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    try:
        scheduled = handler({"source": "aws.events", "detail-type": "Scheduled Event"})
        assert scheduled["run"]["events"][0]["result"] == "imported"
        assert scheduled["run"]["events"][0]["import"]["inserted"] == 1
        one = handler({"event_id": "702"})
        assert [e["event_id"] for e in one["run"]["events"]] == ["702"]
        assert one["run"]["events"][0]["import"]["auctions"][0]["id"] == "dvla-event-702"
        assert handler({"event_id": "no/slash"})["error"]["code"] == "invalid_event"
        assert handler({"files": []})["error"]["code"] == "invalid_event"
        assert handler(["x"])["error"]["code"] == "invalid_event"
        monkeypatch.setenv("AUCTION_RESULTS_URL_TEMPLATE", "http://example.com/{event_id}")
        assert handler({})["error"]["code"] == "invalid_settings"
    finally:
        for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
            cached.cache_clear()


def test_settings_name_the_bad_variable() -> None:
    defaults = load_scraper_settings({})
    assert defaults.url_for("1234") == "https://dvlaauction.co.uk/Event/DownloadExcel?EventID=1234"
    assert load_scraper_settings({"AUCTION_EVENT_IDS": "12, 13 12"}).event_ids == ("12", "13")
    for variable, value, message in [
        ("AUCTION_EVENT_IDS", "12,a b?", "AUCTION_EVENT_IDS: 'b?' is not an auction event id"),
        ("AUCTION_RESULTS_URL_TEMPLATE", "https://x.test/results", "must contain {event_id} once"),
        ("AUCTION_RESULTS_URL_TEMPLATE", "ftp://x.test/{event_id}", "must be an https URL"),
        ("AUCTION_RECHECK_DAYS", "forever", "AUCTION_RECHECK_DAYS must be a number from 0 to 365"),
        ("AUCTION_FETCH_TIMEOUT_S", "0", "AUCTION_FETCH_TIMEOUT_S must be a number from 1 to 120"),
    ]:
        with pytest.raises(SettingsError, match=message.replace("?", r"\?").replace("{", r"\{").replace("}", r"\}")):
            load_scraper_settings({variable: value})


def test_what_the_stage_accepts_the_scraper_reads() -> None:
    """Every value the spec's Setting patterns let through a deploy parses in the scraper, and what the
    deploy refuses the scraper refuses too, so a bad value fails `pulumi up`, not the weekly run."""
    patterns = {contract.setting_variable(s.name): s.pattern for s in settings_of(SCRAPER_SPEC)}
    assert set(patterns) == {"AUCTION_EVENT_IDS", "AUCTION_RESULTS_URL_TEMPLATE"}
    accepted = {
        "AUCTION_EVENT_IDS": ["1234", "12, 13 12", "ev-1_a,ev-2"],
        "AUCTION_RESULTS_URL_TEMPLATE": [DEFAULT_URL_TEMPLATE, "https://mirror.example/results/{event_id}.xlsx"],
    }
    refused = {
        "AUCTION_EVENT_IDS": ["12;13", "a b?", "x" * 33],
        "AUCTION_RESULTS_URL_TEMPLATE": [
            "http://x.test/{event_id}",
            "https://x.test/r",
            "https://x/{event_id}{event_id}",
        ],
    }
    for variable, values in accepted.items():
        for value in values:
            assert re.fullmatch(patterns[variable], value), value
            load_scraper_settings({variable: value})
    for variable, values in refused.items():
        for value in values:
            assert not re.fullmatch(patterns[variable], value), value
            with pytest.raises(SettingsError):
                load_scraper_settings({variable: value})
