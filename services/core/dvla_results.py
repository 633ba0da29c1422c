"""The one reader of DVLA auction results: the auctioneer's Excel export and the shared CSV, as
``(auction, lot, row)`` records.

Every path that reads results goes through :func:`read_results`: the scheduled scraper, the
command line (``python -m services.scraper import``), ``make dev``'s import of the shared CSV, and
valuation training (``services/valuation/training/data.py``). So a file means the same auctions and
lots whichever way it comes in.

Layouts. A header row, found within the first :data:`HEADER_SCAN_ROWS` rows (after any title rows),
names the columns; each field is matched against a few known spellings (:data:`COLUMNS`). The
shared CSV (``combined_auction_results.csv``) and the auctioneer's export share the names
``lot_no`` (``17`` or ``[17]``), ``reg``, ``starting_price``, ``current_price`` (``0`` = unsold),
``category`` and, when present, ``end_time``. Prices may be numbers or text like ``£1,250``;
``Unsold``, ``Withdrawn`` or an empty price mean the lot did not sell.

Auctions. A file holds one auction or several in a row; a new one starts wherever lot 1 comes
again (the CSV concatenates 43 auctions). Each auction's id comes from what the caller or the file
knows, never from a file name, so the same file gets the same ids however it is imported:

1. an event id (the scheduled scraper, ``--event``): the file is that one event, ``dvla-event-<id>``;
2. an explicit prefix (``--auction``): ``<prefix>-<n>`` for the n-th auction of the file;
3. the sale date in the file (the latest lot date of the auction): ``dvla-<yyyy-mm-dd>``;
4. otherwise the auction's place in the file: ``dvla-csv-<n>`` (the shared CSV has no dates).

Bounds. Files come from the internet, so nothing in one can make reading slow or large: the file
size is checked before it is opened (:data:`MAX_FILE_BYTES`), a workbook's parts are checked for
what they expand to before openpyxl reads them, the sheet's declared size is ignored
(``reset_dimensions``) and at most :data:`MAX_COLUMNS` columns are read, reading stops after
:data:`EMPTY_RUN` empty rows in a row and at a row cap (:data:`MAX_EXCEL_ROWS`,
:data:`MAX_CSV_ROWS`), and openpyxl parses the XML through defusedxml (installed with the
scraper), which refuses entity expansion. Every row that cannot be read (a NUL byte, a field or
line that is too long, text that is not UTF-8, a lot number, price, date or registration that is
not one) becomes a :class:`Problem` with its line and the rest of the file still reads; only a
file that is unusable as a whole raises :class:`ResultsFileError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from services.core.registration import InvalidRegistration, Registration, parse

__all__ = [
    "COLUMNS",
    "Auction",
    "LotRow",
    "Problem",
    "Record",
    "Results",
    "ResultsFileError",
    "pence",
    "read_results",
]

MAX_FILE_BYTES = 20 * 2**20
"""A 2,500-lot export is about 100 KB and the whole 87,250-lot CSV 3.4 MB."""
MAX_EXPANDED_BYTES = 100 * 2**20
"""What a workbook's zipped parts may expand to; more is a zip bomb, not a results export."""
MAX_CSV_ROWS = 200_000
"""Lines read from one CSV (header and blank lines included); the shared CSV has 87,251."""
MAX_EXCEL_ROWS = 50_000
"""Sheet rows read from one workbook; an event has at most a few thousand lots, and openpyxl reads
about 10,000 rows a second here, so a sheet padded with junk rows costs seconds, not minutes."""
EMPTY_RUN = 500
"""Consecutive empty rows after which the data is taken to have ended."""
MAX_COLUMNS = 32
MAX_FIELD_CHARS = 1_000
"""A registration has at most 9 characters and a category a few dozen."""
MAX_LINE_BYTES = 64 * 1024
HEADER_SCAN_ROWS = 20
KEPT_PROBLEMS = 1_000
"""Problems kept with their text; past this only :attr:`Results.problem_count` grows."""
MAX_NAME_CHARS = 200

COLUMNS: dict[str, tuple[str, ...]] = {
    "lot": ("lot_no", "lot", "lot no", "lot number", "lot #"),
    "registration": ("reg", "registration", "registration number", "registration mark", "mark", "plate"),
    "hammer": ("current_price", "hammer price", "hammer", "sold price", "sold for", "price", "result"),
    "reserve": ("starting_price", "reserve", "starting price", "start price", "reserve price", "guide"),
    "category": ("category", "categories"),
    "date": ("end_time", "end time", "date", "sale date", "auction date"),
}
"""Known spellings of each column, compared in lower case after trimming."""
_REQUIRED = ("lot", "registration", "hammer")
_UNSOLD_WORDS = frozenset({"unsold", "withdrawn", "not sold", "no sale", "passed", "-", ""})
_DATE_PATTERNS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d-%m-%Y", "%d %B %Y", "%d %b %Y")
_XLSX_MAGIC = b"PK\x03\x04"


class ResultsFileError(ValueError):
    """The file as a whole is unusable (too big, not a workbook, no header); the message says why."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A row that was not read, by its line (the sheet row, or the CSV line counting the header as 1)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Auction:
    id: str
    name: str
    sequence: int
    """1 for the file's first auction, 2 for the next... (the shared CSV's only clock: 1 = oldest)."""
    sale_date: date | None
    catalogue_size: int
    """Lot rows the file lists for it, readable or not (valuation training tells venue from timed sales by it)."""


@dataclass(frozen=True, slots=True)
class LotRow:
    line: int
    listed: str
    """The registration as the file lists it (``AA54 NDS``)."""
    registration: Registration
    hammer_price_pence: int | None
    """``None`` when the lot did not sell."""
    starting_price_pence: int | None
    sold_on: date | None
    """The lot's own date, else its auction's sale date, else ``None``."""
    category: str | None

    @property
    def sold(self) -> bool:
        return self.hammer_price_pence is not None


Record = tuple[Auction, int, LotRow]
"""(auction, lot number, row)."""


class Results:
    """What :func:`read_results` read: iterate it once for the records; the counts fill in as it goes."""

    def __init__(self, kind: str, title: str | None) -> None:
        self.kind = kind
        """``"excel"`` or ``"csv"``, from the file's content."""
        self.title = title
        """The title row above the header, when the file has one."""
        self.problems: list[Problem] = []
        """The first :data:`KEPT_PROBLEMS` rows not read, in line order once iteration has finished."""
        self.problem_count = 0
        self.stopped: str | None = None
        """Why reading stopped before the end of the file (a run of empty rows, the row cap), if it did."""
        self._records: Iterator[Record] = iter(())

    def __iter__(self) -> Iterator[Record]:
        yield from self._records
        self.problems.sort(key=lambda p: p.line)

    def report(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)


def read_results(
    source: Path | bytes, *, event_id: str | None = None, prefix: str | None = None, max_rows: int | None = None
) -> Results:
    """Open ``source`` (a path or the downloaded bytes) and return its records, lazily.

    Raises :class:`ResultsFileError` now when the file is unusable as a whole; row problems are
    collected on the result while it is iterated.
    """
    data = _load(source)
    kind = "excel" if data.startswith(_XLSX_MAGIC) else "csv"
    if max_rows is None:
        max_rows = MAX_EXCEL_ROWS if kind == "excel" else MAX_CSV_ROWS
    rows = _excel_rows(data) if kind == "excel" else _csv_rows(data)
    head = _head(rows)
    header_index, columns = _header(head)
    results = Results(kind, _title(head[:header_index]))
    body = _bounded(_chain(head[header_index + 1 :], rows), results, max_rows)
    results._records = _auctions(_lots(body, columns, results), results, event_id=event_id, prefix=prefix)
    return results


# -- bytes to rows ------------------------------------------------------------------------------

_Row = tuple[int, Sequence[object]] | Problem


def _load(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        size = source.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ResultsFileError(
                f"the file is {size / 2**20:.1f} MB, more than the {MAX_FILE_BYTES // 2**20} MB allowed"
            )
        data = source.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ResultsFileError(f"the file is larger than the {_mb(MAX_FILE_BYTES)} allowed")
    if not data.strip():
        raise ResultsFileError("the file is empty")
    return data


def _excel_rows(data: bytes) -> Iterator[_Row]:
    """The first worksheet's rows, whatever size the sheet declares; a part that stops parsing
    midway ends the rows with a problem instead of losing the rows before it."""
    from openpyxl import load_workbook  # noqa: PLC0415  # only Excel files pay for importing it

    _check_expansion(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types (zip, XML, KeyError) for a broken file
        cause = exc.__cause__ or exc  # openpyxl wraps the parser's error (defusedxml's EntitiesForbidden, say)
        raise ResultsFileError(f"not a readable Excel workbook: {_reason(cause)}") from None
    return _sheet_rows(workbook)


def _sheet_rows(workbook: object) -> Iterator[_Row]:
    line = 0
    try:
        sheets = getattr(workbook, "worksheets", [])
        sheet = sheets[0] if sheets else None
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            raise ResultsFileError("the workbook has no worksheet")
        sheet.reset_dimensions()  # a sheet may declare A1:XFD1048576; read what is there instead
        for line, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            yield line, cells
    except ResultsFileError:
        raise
    except Exception as exc:
        yield Problem(line + 1, f"the sheet cannot be read from this row on: {_reason(exc)}")
    finally:
        getattr(workbook, "close", lambda: None)()


def _check_expansion(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ResultsFileError(f"not a readable Excel workbook: {_reason(exc)}") from None
    if expanded > MAX_EXPANDED_BYTES:
        raise ResultsFileError(
            f"the workbook expands to {expanded / 2**20:.0f} MB, more than the {MAX_EXPANDED_BYTES // 2**20} MB allowed"
        )


def _csv_rows(data: bytes) -> Iterator[_Row]:
    """One physical line at a time, so a bad line (NUL, not UTF-8, too long) is one problem, never
    an aborted file, and no field limit of the csv module applies."""
    stream: BinaryIO = io.BytesIO(data.removeprefix(codecs.BOM_UTF8))
    line = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        line += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield Problem(line, f"the line is longer than {MAX_LINE_BYTES // 1024} KB")
            continue
        if (nul := raw.find(0)) >= 0:
            yield Problem(line, f"contains a NUL byte at column {nul + 1}")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Problem(
                line,
                f"is not UTF-8 text (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); "
                "export the file as UTF-8 (a £ saved by Excel as Windows-1252 looks like this)",
            )
            continue
        try:
            cells = next(csv.reader([text]), [])
        except csv.Error as exc:
            yield Problem(line, f"is not a CSV line: {exc}")
            continue
        yield line, cells[:MAX_COLUMNS]


def _head(rows: Iterator[_Row]) -> list[_Row]:
    head: list[_Row] = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS or (not isinstance(row, Problem) and _is_header(row[1])):
            break
    return head


def _chain(first: Iterable[_Row], rest: Iterator[_Row]) -> Iterator[_Row]:
    yield from first
    yield from rest


def _bounded(rows: Iterator[_Row], results: Results, max_rows: int) -> Iterator[_Row]:
    """Rows up to the row cap and until a long run of empty rows (a padded sheet)."""
    empty = 0
    for row in rows:
        line = row.line if isinstance(row, Problem) else row[0]
        if line > max_rows:
            results.stopped = f"reading stopped at line {line}: the file has more than {max_rows:,} rows"
            results.report(Problem(line, results.stopped))
            return
        if isinstance(row, Problem):
            empty = 0
            yield row
            continue
        if all(_blank(c) for c in row[1]):
            empty += 1
            if empty >= EMPTY_RUN:
                results.stopped = f"stopped at line {line} after {EMPTY_RUN} empty rows"
                return
            continue
        empty = 0
        yield row


# -- header -------------------------------------------------------------------------------------


def _names(cells: Sequence[object]) -> list[str]:
    return [str(c).strip().lower() if c is not None else "" for c in cells]


def _columns(cells: Sequence[object]) -> dict[str, int]:
    names = _names(cells)
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[key] = names.index(alias)
                break
    return found


def _is_header(cells: Sequence[object]) -> bool:
    return all(key in _columns(cells) for key in _REQUIRED)


def _header(head: Sequence[_Row]) -> tuple[int, dict[str, int]]:
    """(index of the header row in ``head``, column index per known field)."""
    for index, row in enumerate(head):
        if not isinstance(row, Problem) and _is_header(row[1]):
            return index, _columns(row[1])
    raise ResultsFileError(
        f"no header row naming a lot, a registration and a hammer price column in the first {HEADER_SCAN_ROWS} rows"
        f" (expected names like {', '.join(COLUMNS['lot'][:1] + COLUMNS['registration'][:1] + COLUMNS['hammer'][:1])})"
    )


def _title(rows: Sequence[_Row]) -> str | None:
    for row in rows:
        if isinstance(row, Problem):
            continue
        texts = [str(c).strip() for c in row[1] if not _blank(c)]
        if len(texts) == 1 and len(texts[0]) <= MAX_FIELD_CHARS:
            return _printable(texts[0])[:MAX_NAME_CHARS] or None
    return None


# -- cells to lots ------------------------------------------------------------------------------


def _lots(rows: Iterator[_Row], columns: Mapping[str, int], results: Results) -> Iterator[tuple[int, LotRow] | int]:
    """``(lot, row)`` for each readable row; the bare lot number of a row with a lot but a problem
    (it still counts towards its auction's catalogue and where auctions start)."""
    for row in rows:
        if isinstance(row, Problem):
            results.report(row)
            continue
        line, cells = row
        values = {key: cells[i] if i < len(cells) else None for key, i in columns.items()}
        try:
            _check_fields(cells)
            lot = _lot_number(values.get("lot"))
        except ValueError as exc:
            results.report(Problem(line, str(exc)))
            continue
        try:
            yield lot, _row(line, values)
        except InvalidRegistration as exc:
            results.report(Problem(line, f"registration {exc.text!r}: {exc.reason}"))
            yield lot
        except ValueError as exc:
            results.report(Problem(line, str(exc)))
            yield lot


def _check_fields(cells: Sequence[object]) -> None:
    for index, cell in enumerate(cells):
        if isinstance(cell, str):
            if len(cell) > MAX_FIELD_CHARS:
                raise ValueError(f"column {index + 1} holds {len(cell):,} characters, more than {MAX_FIELD_CHARS:,}")
            if "\x00" in cell:
                raise ValueError(f"column {index + 1} contains a NUL byte")


def _row(line: int, values: Mapping[str, object]) -> LotRow:
    listed = str(values.get("registration") or "").strip()
    registration = parse(listed)
    category = str(values.get("category") or "").strip()[:64] or None
    return LotRow(
        line=line,
        listed=listed,
        registration=registration,
        hammer_price_pence=pence(values.get("hammer")),
        starting_price_pence=pence(values.get("reserve")),
        sold_on=_date(values.get("date")),
        category=category,
    )


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
        if text in _UNSOLD_WORDS:
            return None
        cleaned = re.sub(r"^(gbp|£)\s*|,", "", text)
        try:
            amount = float(cleaned)
        except ValueError:
            raise ValueError(f"{_short(value)} is not a price") from None
    if amount < 0 or not math.isfinite(amount) or amount > 1e9:
        raise ValueError(f"{_short(value)} is not a price")
    return round(amount * 100) or None  # 0 is how the CSV says unsold


def _lot_number(value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value if value is not None else "").strip().strip("[]#").strip()
    if not text.isdigit() or not 0 < int(text) < 1_000_000:
        raise ValueError(f"lot number {_short(value)} is not a positive whole number")
    return int(text)


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in _DATE_PATTERNS:
        try:
            return datetime.strptime(text, pattern).date()  # a calendar date, no time zone
        except ValueError:
            continue
    raise ValueError(f"date {_short(value)} is not a date (like 2024-03-14 or 14/03/2024)")


# -- lots to auctions ---------------------------------------------------------------------------


def _auctions(
    lots: Iterator[tuple[int, LotRow] | int], results: Results, *, event_id: str | None, prefix: str | None
) -> Iterator[Record]:
    """Group lots into auctions (a new one wherever lot 1 comes again, unless the file is one event)
    and name each; a lot listed twice in one auction is a problem, the first listing stands."""
    block: list[tuple[int, LotRow] | int] = []
    used: set[str] = set()
    sequence = 0
    for item in lots:
        lot = item if isinstance(item, int) else item[0]
        if lot == 1 and block and event_id is None:
            sequence += 1
            yield from _flush(block, sequence, results, used, event_id=event_id, prefix=prefix)
            block = []
        block.append(item)
    if block:
        yield from _flush(block, sequence + 1, results, used, event_id=event_id, prefix=prefix)


def _flush(
    block: list[tuple[int, LotRow] | int],
    sequence: int,
    results: Results,
    used: set[str],
    *,
    event_id: str | None,
    prefix: str | None,
) -> Iterator[Record]:
    rows = [item for item in block if not isinstance(item, int)]
    dates = [row.sold_on for _, row in rows if row.sold_on is not None]
    sale_date = max(dates) if dates else None
    auction = _identity(sequence, sale_date, len(block), results.title, used, event_id=event_id, prefix=prefix)
    seen: dict[int, int] = {}
    for lot, row in rows:
        if lot in seen:
            results.report(Problem(row.line, f"lot {lot} appears twice (first on line {seen[lot]})"))
            continue
        seen[lot] = row.line
        yield auction, lot, replace(row, sold_on=sale_date) if row.sold_on is None else row


def _identity(
    sequence: int,
    sale_date: date | None,
    size: int,
    title: str | None,
    used: set[str],
    *,
    event_id: str | None,
    prefix: str | None,
) -> Auction:
    if event_id is not None:
        key, name = f"dvla-event-{event_id}", title or f"DVLA auction event {event_id}"
    elif prefix is not None:
        key, name = f"{prefix}-{sequence}", f"{prefix} auction {sequence}"
    elif sale_date is not None:
        key, name = f"dvla-{sale_date.isoformat()}", title or f"DVLA auction {sale_date.day} {sale_date:%B %Y}"
    else:
        key, name = f"dvla-csv-{sequence}", f"DVLA auction {sequence} (combined results file)"
    if key in used:  # two auctions of one file on the same date
        key, name = f"{key}-{sequence}", f"{name} ({sequence})"
    used.add(key)
    return Auction(id=key[:64], name=name[:MAX_NAME_CHARS], sequence=sequence, sale_date=sale_date, catalogue_size=size)


# -- small helpers ------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size // 2**20} MB"


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable()).strip()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
