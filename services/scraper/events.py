"""The scheduled run: fetch the results of every due auction event and import what changed.

For each event :func:`services.core.auction_events.due_events` returns (oldest attempt first):
download its file (:mod:`services.scraper.download`), and in one transaction holding the event's
row lock compare the file's SHA-256 with the last one imported; a new file is imported as the
event's auction ``dvla-event-<id>`` (:func:`services.scraper.importer.import_results`) and the
event becomes ``imported`` with its counts. A server error, a timeout or an unreadable file is
recorded on the event (``last_error``, ``attempts``) and the next run tries again; a file with no
lots yet (or a 404) leaves the event ``pending``. One event's failure never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.core.auction_events import (
    due_events,
    lock_event,
    record_failure,
    record_import,
    record_unchanged,
    register_events,
)
from services.core.dvla_results import ResultsFileError
from services.core.models import AuctionEventStatus, Sale
from services.scraper.download import DownloadError, NotPublished, download
from services.scraper.importer import ImportReport, import_results, problem_dicts
from services.scraper.settings import ScraperSettings

__all__ = ["EventOutcome", "RunReport", "import_event_file", "run_due_events"]

log = logging.getLogger(__name__)
SECONDS_KEPT_FOR_IMPORT = 30.0
"""A run starts another event only with its fetch timeout plus this much time left before its deadline."""

Fetch = Callable[[str, float], bytes]


@dataclass(frozen=True, slots=True)
class EventOutcome:
    event_id: str
    result: str
    """``imported``, ``unchanged``, ``waiting`` (nothing published yet), ``failed`` or ``deferred`` (no time left)."""
    message: str
    report: ImportReport | None = None

    def as_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {"event_id": self.event_id, "result": self.result, "message": self.message}
        if self.report is not None:
            answer["import"] = self.report.as_dict()
        return answer


def _outcomes() -> list[EventOutcome]:
    return []


@dataclass(slots=True)
class RunReport:
    registered: int = 0
    """Config event ids seen for the first time."""
    events: list[EventOutcome] = field(default_factory=_outcomes)

    def as_dict(self) -> dict[str, object]:
        return {"registered": self.registered, "events": [e.as_dict() for e in self.events]}


def _download(url: str, timeout_s: float) -> bytes:
    return download(url, timeout_s=timeout_s)


def run_due_events(
    engine: Engine,
    settings: ScraperSettings,
    *,
    only: tuple[str, ...] = (),
    deadline: float | None = None,
    fetch: Fetch = _download,
) -> RunReport:
    """Register the configured events, then fetch and import every due one (or just ``only``).

    ``deadline`` is a ``time.monotonic()`` value (the Lambda's remaining time); events that no
    longer fit before it are ``deferred`` to the next run.
    """
    report = RunReport()
    with Session(engine) as session, session.begin():
        report.registered = register_events(session, (*settings.event_ids, *only))
        if only:
            ids = list(dict.fromkeys(only))
        else:
            due = due_events(session, recheck=settings.recheck, limit=settings.max_events_per_run)
            ids = [event.event_id for event in due]
    for event_id in ids:
        if deadline is not None and deadline - time.monotonic() < settings.fetch_timeout_s + SECONDS_KEPT_FOR_IMPORT:
            report.events.append(EventOutcome(event_id, "deferred", "not enough time left in this run"))
            continue
        report.events.append(_fetch_and_import(engine, settings, event_id, fetch))
    return report


def _fetch_and_import(engine: Engine, settings: ScraperSettings, event_id: str, fetch: Fetch) -> EventOutcome:
    try:
        data = fetch(settings.url_for(event_id), settings.fetch_timeout_s)
    except NotPublished as exc:
        return _failed(engine, event_id, str(exc), waiting=True)
    except DownloadError as exc:
        return _failed(engine, event_id, str(exc))
    return import_event_file(engine, event_id, data)


def import_event_file(engine: Engine, event_id: str, data: bytes) -> EventOutcome:
    """Import ``data`` as event ``event_id``'s results unless it is the file imported last time.

    Also what ``python -m services.scraper import --event ID FILE`` runs, so a file downloaded by
    hand and the scheduled fetch of the same event agree on its auction and its hash.
    """
    digest = hashlib.sha256(data).hexdigest()
    with Session(engine) as session, session.begin():
        register_events(session, [event_id])
        event = lock_event(session, event_id)
        if event.status == AuctionEventStatus.IMPORTED and event.content_hash == digest:
            record_unchanged(session, event_id)
            return EventOutcome(event_id, "unchanged", f"the file is the one imported before ({digest[:12]})")
        try:
            report = import_results(session.connection(), data, label=f"event {event_id}", event_id=event_id)
        except ResultsFileError as exc:
            record_failure(session, event_id, f"unreadable results file: {exc}")
            return EventOutcome(event_id, "failed", f"unreadable results file: {exc}")
        if report.lots_read == 0:
            waiting = report.problem_count == 0
            message = (
                "the results file lists no lots yet"
                if waiting
                else f"no readable lot in the file ({report.problem_count} bad rows, first {report.problems[0]})"
            )
            record_failure(session, event_id, message, waiting=waiting)
            return EventOutcome(event_id, "waiting" if waiting else "failed", message, report)
        auction = report.auctions[0]
        stored = session.scalar(select(func.count()).select_from(Sale).where(Sale.auction_id == auction.id)) or 0
        record_import(
            event,
            content_hash=digest,
            name=auction.name,
            sale_date=auction.sale_date,
            lots_imported=stored,
            rows_rejected=report.problem_count,
            conflicts=report.conflict_count,
            problems=problem_dicts(report.problems),
            now=session.scalar(select(func.now())),  # type: ignore[arg-type]
        )
    message = (
        f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged lots; "
        f"{report.problem_count} bad rows, {report.conflict_count} conflicts"
    )
    log.info("event %s imported: %s", event_id, message)
    return EventOutcome(event_id, "imported", message, report)


def _failed(engine: Engine, event_id: str, error: str, *, waiting: bool = False) -> EventOutcome:
    log.warning("event %s: %s", event_id, error)
    with Session(engine) as session, session.begin():
        record_failure(session, event_id, error, waiting=waiting)
    return EventOutcome(event_id, "waiting" if waiting else "failed", error)
