"""Import one results file (a path or downloaded bytes) into ``sales`` and say what happened.

The file is read by :func:`services.core.dvla_results.read_results` (auction ids from the event,
an explicit prefix, the sale date in the file or the auction's place in it, never the file name)
and written by :func:`services.core.auction_import.write_records` in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine

from services.core.auction_import import Conflict, write_records
from services.core.dvla_results import Auction, Problem, Record, read_results

__all__ = ["ImportReport", "import_file", "import_results"]

REPORTED_PROBLEMS = 100
"""Bad rows listed in an answer or an event's record; the counts include them all."""


@dataclass(frozen=True, slots=True)
class AuctionSummary:
    id: str
    name: str
    sale_date: date | None
    lots: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    source: str
    """What was imported: the file's name or ``event <id>`` (for messages only)."""
    kind: str
    auctions: tuple[AuctionSummary, ...]
    lots_read: int
    inserted: int
    updated: int
    unchanged: int
    conflict_count: int
    conflicts: tuple[Conflict, ...]
    problem_count: int
    problems: tuple[Problem, ...]
    stale_valuations: int
    title: str | None
    stopped: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "kind": self.kind,
            "auctions": [
                {"id": a.id, "name": a.name, "sale_date": a.sale_date and a.sale_date.isoformat(), "lots": a.lots}
                for a in self.auctions
            ],
            "lots_read": self.lots_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "conflicts": self.conflict_count,
            "conflict_details": [str(c) for c in self.conflicts[:REPORTED_PROBLEMS]],
            "rows_rejected": self.problem_count,
            "problems": problem_dicts(self.problems),
            "stale_valuations": self.stale_valuations,
            "stopped": self.stopped,
        }

    def lines(self) -> list[str]:
        """Every conflict and bad row, one line each (``line 12: ...``)."""
        return [str(c) for c in self.conflicts] + [str(p) for p in self.problems]


def problem_dicts(problems: tuple[Problem, ...]) -> list[dict[str, object]]:
    return [{"line": p.line, "message": p.message} for p in problems[:REPORTED_PROBLEMS]]


def import_results(
    connection: Connection,
    source: Path | bytes,
    *,
    label: str,
    event_id: str | None = None,
    prefix: str | None = None,
) -> ImportReport:
    """Read ``source`` and write it in the caller's transaction; raises
    :class:`~services.core.dvla_results.ResultsFileError` (before writing anything) for an unusable file."""
    results = read_results(source, event_id=event_id, prefix=prefix)
    lots: dict[str, int] = {}
    auctions: dict[str, Auction] = {}

    def records() -> Iterator[Record]:
        for record in results:
            auction = record[0]
            auctions.setdefault(auction.id, auction)
            lots[auction.id] = lots.get(auction.id, 0) + 1
            yield record

    written = write_records(connection, records(), source=f"dvla-{results.kind}")
    return ImportReport(
        source=label,
        kind=results.kind,
        auctions=tuple(AuctionSummary(a.id, a.name, a.sale_date, lots[a.id]) for a in auctions.values()),
        lots_read=written.rows,
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        conflict_count=written.conflict_count,
        conflicts=written.conflicts,
        problem_count=results.problem_count,
        problems=tuple(results.problems),
        stale_valuations=written.stale_valuations,
        title=results.title,
        stopped=results.stopped,
    )


def import_file(engine: Engine, path: Path, *, prefix: str | None = None) -> ImportReport:
    """Import the file at ``path`` in one transaction (the command line's ``import`` without ``--event``)."""
    with engine.begin() as connection:
        return import_results(connection, path, label=path.name, prefix=prefix)
