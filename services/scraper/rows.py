"""Reading auction results files into :class:`SaleRow` objects, reporting bad rows by line.

Two layouts:

* the shared CSV (``combined_auction_results.csv``): ``lot_no`` like ``[17]`` restarting at ``[1]``
  with each auction, ``reg``, ``starting_price``, ``current_price`` (0 = unsold), ``category``.
  Every block that starts at lot 1 is one auction: ``<prefix>-<block>``.
* the auctioneer's Excel export: one auction per workbook, a header row (found within the first
  rows, after any title lines) naming the lot, the registration and the hammer price, optionally
  the reserve, the category and the sale date. Column names vary between exports, so each column
  is matched against a few known spellings. Prices may be numbers or text like ``£1,250``; ``Unsold``,
  ``Withdrawn``, ``Not sold`` or an empty price mean the lot did not sell.

A row that cannot be read (no lot number, a price that is not a price, a mark the DVLA never issues,
a lot seen twice in one auction) becomes a :class:`Problem` with its line and is skipped; the rest
of the file still imports.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from services.core.auction_import import SaleRow
from services.core.registration import InvalidRegistration, parse

UNSOLD_WORDS = frozenset({"unsold", "withdrawn", "not sold", "no sale", "passed", "-", ""})
HEADER_SCAN_ROWS = 20
EXCEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "lot": ("lot", "lot no", "lot number", "lot_no", "lot #"),
    "registration": ("registration", "reg", "registration number", "registration mark", "mark", "plate"),
    "hammer": ("hammer price", "hammer", "sold price", "sold for", "price", "result", "current_price"),
    "reserve": ("reserve", "starting price", "start price", "reserve price", "starting_price", "guide"),
    "category": ("category", "categories"),
    "date": ("date", "sale date", "auction date"),
}
REQUIRED = ("lot", "registration", "hammer")


class ResultsFileError(ValueError):
    """The file as a whole is unusable (unknown type, no header); the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _rows() -> list[SaleRow]:
    return []


def _problems() -> list[Problem]:
    return []


@dataclass(slots=True)
class Parsed:
    rows: list[SaleRow] = field(default_factory=_rows)
    problems: list[Problem] = field(default_factory=_problems)


def pence(value: object) -> int | None:
    """A price in pence from a cell; ``None`` when the lot did not sell. Raises ``ValueError`` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a price")
    if isinstance(value, int | float):
        amount = float(value)
    else:
        text = str(value).strip().lower()
        if text in UNSOLD_WORDS:
            return None
        cleaned = re.sub(r"^(gbp|£)\s*|,", "", text)
        try:
            amount = float(cleaned)
        except ValueError:
            raise ValueError(f"{value!r} is not a price") from None
    if amount < 0 or not math.isfinite(amount):
        raise ValueError(f"{value!r} is not a price")
    return round(amount * 100) or None  # 0 is how the CSV says unsold


def _lot_number(value: object) -> int:
    text = str(value if value is not None else "").strip().strip("[]#").strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"lot number {value!r} is not a positive whole number")
    return int(text)


class _Collector:
    """Turns raw lots into rows, keeping the first of a repeated (auction, lot) and reporting the rest."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parsed = Parsed()
        self._seen: dict[tuple[str, int], int] = {}

    def add(self, line: int, *, auction_id: str, auction_name: str, lot: int, fields: Mapping[str, object]) -> None:
        try:
            registration = str(fields.get("registration") or "").strip()
            parse(registration)
            hammer = pence(fields.get("hammer"))
            reserve = pence(fields.get("reserve"))
            sold_on = _date(fields.get("date"))
        except InvalidRegistration as exc:
            self.parsed.problems.append(Problem(line, f"registration {exc.text!r}: {exc.reason}"))
            return
        except ValueError as exc:
            self.parsed.problems.append(Problem(line, str(exc)))
            return
        key = (auction_id, lot)
        if key in self._seen:
            self.parsed.problems.append(Problem(line, f"lot {lot} appears twice (first on line {self._seen[key]})"))
            return
        self._seen[key] = line
        category = str(fields.get("category") or "").strip() or None
        self.parsed.rows.append(
            SaleRow.of(
                auction_id=auction_id,
                auction_name=auction_name,
                lot_number=lot,
                registration=registration,
                hammer_price_pence=hammer,
                starting_price_pence=reserve,
                sold_on=sold_on,
                category=category,
                source=self.source,
            )
        )


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, pattern).date()  # a calendar date, no time zone
        except ValueError:
            continue
    raise ValueError(f"date {value!r} is not a date (like 2024-03-14 or 14/03/2024)")


def read_results_csv(path: Path, *, prefix: str, source: str = "dvla-csv") -> Parsed:
    """The shared CSV layout; auctions are ``<prefix>-1``, ``<prefix>-2``... in file order."""
    collector = _Collector(source)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"lot_no", "reg", "current_price"} - set(reader.fieldnames or ())
        if missing:
            raise ResultsFileError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        block = 0
        for line, raw in enumerate(reader, start=2):
            try:
                lot = _lot_number(raw.get("lot_no"))
            except ValueError as exc:
                collector.parsed.problems.append(Problem(line, str(exc)))
                continue
            if lot == 1 or block == 0:
                block += 1
            fields: dict[str, object] = {
                "registration": raw.get("reg"),
                "hammer": raw.get("current_price"),
                "reserve": raw.get("starting_price") or None,
                "category": raw.get("category"),
            }
            collector.add(
                line, auction_id=f"{prefix}-{block}", auction_name=f"{prefix} auction {block}", lot=lot, fields=fields
            )
    return collector.parsed


def _header(rows: Iterable[tuple[int, Sequence[object]]]) -> tuple[int, dict[str, int]]:
    """(line of the header row, column index per known field), from the first rows of the sheet."""
    for line, cells in rows:
        names = [str(c).strip().lower() if c is not None else "" for c in cells]
        found = {
            key: names.index(alias) for key, aliases in EXCEL_COLUMNS.items() for alias in aliases if alias in names
        }
        if all(key in found for key in REQUIRED):
            return line, found
    raise ResultsFileError(
        f"no header row with a lot, a registration and a hammer price column in the first {HEADER_SCAN_ROWS} rows"
    )


def read_results_excel(path: Path, *, auction_id: str, source: str = "dvla-excel") -> Parsed:
    """The auctioneer's Excel export (first worksheet): one auction, id ``auction_id``."""
    from openpyxl import load_workbook  # noqa: PLC0415  # only Excel imports pay for it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ResultsFileError(f"{path.name} is not a readable Excel workbook: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        numbered: Iterator[tuple[int, tuple[object, ...]]] = enumerate(sheet.iter_rows(values_only=True), start=1)
        head: list[tuple[int, tuple[object, ...]]] = []
        for item in numbered:
            head.append(item)
            if len(head) >= HEADER_SCAN_ROWS:
                break
        header_line, columns = _header(head)
        collector = _Collector(source)
        name = f"{sheet.title} ({path.name})"
        for line, cells in [*head[header_line:], *numbered]:
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            values = {key: cells[i] if i < len(cells) else None for key, i in columns.items()}
            try:
                lot = _lot_number(values.pop("lot"))
            except ValueError as exc:
                collector.parsed.problems.append(Problem(line, str(exc)))
                continue
            collector.add(line, auction_id=auction_id, auction_name=name, lot=lot, fields=values)
        return collector.parsed
    finally:
        workbook.close()
