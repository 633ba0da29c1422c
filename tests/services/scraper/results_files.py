"""Results files in the auctioneer's layouts, built by the tests.

The Excel export is what ``../shared/data``'s CSV was combined from: a pandas-style index column,
then ``lot_no``, ``reg``, ``starting_price``, ``current_price`` (whole pounds, 0 = unsold),
``length``, ``category`` and ``end_time``; the CSV adds a second index column.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime

from openpyxl import Workbook

EXCEL_HEADER = ["", "lot_no", "reg", "starting_price", "current_price", "length", "category", "end_time"]
CSV_HEADER = ",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category"
SALE_END = datetime(2024, 3, 14, 15, 0)

Lot = tuple[object, object, object, object]
"""(lot number, registration, starting price, hammer price) as the cells hold them."""


def lots(marks: Sequence[str], *, first_lot: int = 1, price: int = 300) -> list[Lot]:
    return [(first_lot + i, mark, 250, price + 10 * i) for i, mark in enumerate(marks)]


def excel_bytes(rows: Sequence[Lot], *, title: str | None = None, end: datetime | None = SALE_END) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title is not None:
        sheet.append([title])
        sheet.append([])
    sheet.append(EXCEL_HEADER)
    for index, (lot, reg, start, hammer) in enumerate(rows):
        sheet.append([index, lot, reg, start, hammer, len(str(reg)), None, end])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(lines: Sequence[str | bytes]) -> bytes:
    encoded = [line if isinstance(line, bytes) else line.encode() for line in lines]
    return b"\n".join([CSV_HEADER.encode(), *encoded]) + b"\n"


def csv_line(index: int, lot: int, reg: str, start: object = 250, hammer: object = 300) -> str:
    return f"{index},{index},[{lot}],{reg},{start},{hammer},{len(reg)},"


def rewrite_part(workbook: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with one zipped part (``xl/worksheets/sheet1.xml``) passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename == part else data)
    return out.getvalue()


def declare_dimension(workbook: bytes, ref: str) -> bytes:
    """The workbook with its first sheet claiming to span ``ref`` (``A1:XFD1048576``)."""
    declared = f'<dimension ref="{ref}"'.encode()
    return rewrite_part(
        workbook, "xl/worksheets/sheet1.xml", lambda xml: re.sub(rb'<dimension ref="[^"]*"', declared, xml)
    )
