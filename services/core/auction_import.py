"""Historical auction results into ``sales``: the DVLA CSV reader and an idempotent bulk insert.

Also a command: ``python -m services.core.auction_import FILE [--database-url URL]`` (default:
``DATABASE_URL``), which ``make dev`` runs in a child process so parsing 87,000 marks uses another
CPU core instead of competing with the stack's own threads.

The shared file ``../shared/data/dvla-auctions-2021-2024/combined_auction_results.csv`` has no
auction ids or dates: lot numbers (``[17]``) restart at ``[1]`` with every auction, so each block
that starts at lot 1 is one auction, numbered from 1 in file order (``dvla-csv-1`` ...). Prices are
whole pounds; a hammer price of 0 means the lot did not sell (stored as ``NULL`` and ``sold=False``).

:func:`insert_sales` is the reusable part (the scraper writes its own rows through it): rows go in
through ``COPY`` into a temporary table and then ``INSERT ... ON CONFLICT (auction_id, lot_number)
DO NOTHING``, so importing the same results twice changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select

from services.core.models import Sale
from services.core.registration import InvalidRegistration, normalize, parse

__all__ = [
    "DVLA_CSV_SOURCE",
    "AuctionCsvError",
    "AuctionImport",
    "SaleRow",
    "import_auction_csv",
    "insert_sales",
    "read_auction_csv",
]

DVLA_CSV_SOURCE = "dvla-csv"
_COLUMNS = (
    "auction_id",
    "auction_name",
    "lot_number",
    "registration",
    "registration_display",
    "format",
    "hammer_price_pence",
    "starting_price_pence",
    "sold",
    "sold_on",
    "category",
    "source",
)


@dataclass(frozen=True, slots=True)
class SaleRow:
    """One auction lot, ready for ``sales`` (see :class:`services.core.models.Sale` for the meaning)."""

    auction_id: str
    auction_name: str
    lot_number: int
    registration: str
    registration_display: str
    format: str | None
    hammer_price_pence: int | None
    starting_price_pence: int | None
    sold: bool
    sold_on: date | None
    category: str | None
    source: str

    @classmethod
    def of(
        cls,
        *,
        auction_id: str,
        auction_name: str,
        lot_number: int,
        registration: str,
        hammer_price_pence: int | None,
        source: str,
        starting_price_pence: int | None = None,
        sold_on: date | None = None,
        category: str | None = None,
    ) -> SaleRow:
        """Build a row from a registration as listed; marks the parser rejects keep their text, format ``None``."""
        try:
            parsed = parse(registration)
            normalized, display, plate_format = parsed.normalized, parsed.display, parsed.format.value
        except InvalidRegistration:
            normalized, display, plate_format = normalize(registration)[:8], registration.strip()[:9], None
        sold = bool(hammer_price_pence)
        return cls(
            auction_id=auction_id,
            auction_name=auction_name,
            lot_number=lot_number,
            registration=normalized,
            registration_display=display,
            format=plate_format,
            hammer_price_pence=hammer_price_pence if sold else None,
            starting_price_pence=starting_price_pence,
            sold=sold,
            sold_on=sold_on,
            category=(category or None) and category[:64],
            source=source,
        )


@dataclass(frozen=True, slots=True)
class AuctionImport:
    """What :func:`import_auction_csv` did."""

    lots_in_file: int
    inserted: int
    skipped: bool
    """True when every lot of the file was already in ``sales`` and nothing was parsed."""


class AuctionCsvError(ValueError):
    """The file is not the DVLA auction CSV; the message names the line."""


def _lots(path: Path) -> Iterator[tuple[int, int, dict[str, str]]]:
    """(block, lot, raw row) for every data row; blocks start at 1 and advance wherever lot 1 appears."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"lot_no", "reg", "current_price"} - set(reader.fieldnames or ())
        if missing:
            raise AuctionCsvError(f"{path}: missing columns {sorted(missing)}")
        block = 0
        for line, raw in enumerate(reader, start=2):
            try:
                lot = int(raw["lot_no"].strip().strip("[]"))
            except ValueError:
                raise AuctionCsvError(f"{path}:{line}: lot_no {raw['lot_no']!r} is not like [17]") from None
            if lot == 1 or block == 0:
                block += 1
            yield block, lot, raw


def _pence(pounds: str, path: Path, column: str) -> int | None:
    text = pounds.strip()
    if not text:
        return None
    try:
        return round(float(text) * 100)
    except ValueError:
        raise AuctionCsvError(f"{path}: {column} {pounds!r} is not a price") from None


def read_auction_csv(path: Path) -> Iterator[SaleRow]:
    """Every lot of the DVLA CSV at ``path`` as a :class:`SaleRow`."""
    for block, lot, raw in _lots(path):
        yield SaleRow.of(
            auction_id=f"{DVLA_CSV_SOURCE}-{block}",
            auction_name=f"DVLA auction {block} (combined results file)",
            lot_number=lot,
            registration=raw["reg"],
            hammer_price_pence=_pence(raw["current_price"], path, "current_price"),
            starting_price_pence=_pence(raw.get("starting_price", ""), path, "starting_price"),
            category=raw.get("category", "").strip(),
            source=DVLA_CSV_SOURCE,
        )


def insert_sales(connection: Connection, rows: Iterable[SaleRow]) -> int:
    """Insert ``rows`` unless their (auction_id, lot_number) exists; returns how many were new.

    Runs in the caller's transaction; the caller commits.
    """
    raw = connection.connection.driver_connection
    assert raw is not None
    columns = ", ".join(_COLUMNS)
    with raw.cursor() as cursor:  # type: ignore[attr-defined]
        # Same column types as sales, no constraints: duplicates are resolved by the INSERT below.
        cursor.execute(f"CREATE TEMPORARY TABLE sales_incoming AS SELECT {columns} FROM sales WITH NO DATA")  # noqa: S608
        with cursor.copy(f"COPY sales_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(getattr(row, column) for column in _COLUMNS))
        cursor.execute(
            f"INSERT INTO sales ({columns}) SELECT {columns} FROM sales_incoming "  # noqa: S608 - fixed column names
            "ON CONFLICT (auction_id, lot_number) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute("DROP TABLE sales_incoming")
    return inserted


def import_auction_csv(engine: Engine, path: Path) -> AuctionImport:
    """Import the DVLA CSV at ``path`` into ``sales``; a second run finds every lot present and skips."""
    keys = {(block, lot) for block, lot, _ in _lots(path)}
    with engine.begin() as connection:
        present = connection.execute(
            select(func.count()).select_from(Sale).where(Sale.source == DVLA_CSV_SOURCE)
        ).scalar_one()
        if present >= len(keys):
            return AuctionImport(lots_in_file=len(keys), inserted=0, skipped=True)
        inserted = insert_sales(connection, read_auction_csv(path))
    return AuctionImport(lots_in_file=len(keys), inserted=inserted, skipped=False)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: import one DVLA CSV; prints one line; exit code 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m services.core.auction_import")
    parser.add_argument("csv", type=Path, help="the DVLA combined_auction_results.csv")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="default: DATABASE_URL")
    args = parser.parse_args(argv)
    if not args.database_url:
        print("auction import: set DATABASE_URL or pass --database-url", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM ends quietly, like Ctrl-C
    from services.core.db import build_engine  # noqa: PLC0415 - only the command needs an engine
    from services.core.settings import SettingsError, load_settings  # noqa: PLC0415

    try:
        settings = load_settings(
            {"STAGE": "local", "SERVICE_NAME": "auction-import", "DATABASE_URL": args.database_url}
        )
        assert settings.database is not None
        assert settings.database.url is not None
        engine = build_engine(settings.database.url, on_lambda=False, application_name="auction-import")
        try:
            result = import_auction_csv(engine, args.csv)
        finally:
            engine.dispose()
    except KeyboardInterrupt:
        return 130
    except (SettingsError, AuctionCsvError, OSError) as exc:
        print(f"auction import: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"auction import: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    if result.skipped:
        print(f"sales: {result.lots_in_file} auction lots already imported", flush=True)
    else:
        print(
            f"sales: imported {result.inserted} of {result.lots_in_file} auction lots from {args.csv.name}", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
