"""Import one results file into ``sales``: read it, insert what is new, report the rest.

Idempotent per auction and lot: rows go through :func:`services.core.auction_import.insert_sales`
(``ON CONFLICT (auction_id, lot_number) DO NOTHING``), so a file imported twice, or a results page
fetched again next week, inserts nothing the second time. The whole file commits in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from services.core.auction_import import insert_sales
from services.scraper.rows import Parsed, Problem, ResultsFileError, read_results_csv, read_results_excel

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True, slots=True)
class ImportReport:
    file: str
    auctions: tuple[str, ...]
    lots_read: int
    inserted: int
    already_present: int
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "auctions": list(self.auctions),
            "lots_read": self.lots_read,
            "inserted": self.inserted,
            "already_present": self.already_present,
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
        }


def auction_key(path: Path) -> str:
    """A stable auction id from a file name: ``Results 14-03-2024.xlsx`` -> ``results-14-03-2024``."""
    return re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:64] or "auction"


def read_file(path: Path, *, auction: str | None = None) -> Parsed:
    """Parse ``path`` by its type; ``auction`` overrides the id (Excel) or id prefix (CSV)."""
    suffix = path.suffix.lower()
    key = auction or auction_key(path)
    if suffix in EXCEL_SUFFIXES:
        return read_results_excel(path, auction_id=key)
    if suffix == ".csv":
        return read_results_csv(path, prefix=key)
    raise ResultsFileError(f"{path.name}: expected an Excel export (.xlsx) or a CSV, not {suffix or 'no extension'}")


def import_file(engine: Engine, path: Path, *, auction: str | None = None) -> ImportReport:
    parsed = read_file(path, auction=auction)
    with engine.begin() as connection:
        inserted = insert_sales(connection, parsed.rows) if parsed.rows else 0
    return ImportReport(
        file=path.name,
        auctions=tuple(dict.fromkeys(r.auction_id for r in parsed.rows)),
        lots_read=len(parsed.rows),
        inserted=inserted,
        already_present=len(parsed.rows) - inserted,
        problems=tuple(parsed.problems),
    )
