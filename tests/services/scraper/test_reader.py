"""The one DVLA results reader (services.core.dvla_results) on files built here: both layouts, the
auction identity rules, and every malformed input bounded in time and reported by line."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from services.core import dvla_results
from services.core.dvla_results import Record, Results, ResultsFileError, pence, read_results
from tests.services.scraper.results_files import (
    csv_bytes,
    csv_line,
    declare_dimension,
    excel_bytes,
    lots,
    rewrite_part,
)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s, more than {seconds} s"


def _read(results: Results) -> list[Record]:
    return list(results)


def _lines(results: Results) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in results.problems]


def test_shared_csv_layout_splits_auctions_where_lot_one_restarts() -> None:
    data = csv_bytes(
        [
            csv_line(0, 1, "AA54 NDS", 250, 280),
            csv_line(1, 2, "479 AAV", 800, 0),  # unsold
            csv_line(2, 3, "ZZZ ZZZ", 100, 150),  # line 4: never issued
            csv_line(3, 1, "1 A", 5000, 120000),  # a new auction
            csv_line(4, 2, "AB12 CDE", 250, "lots"),  # line 6: not a price
            csv_line(5, 1, "B 2", 5000, 50000),  # a third auction
        ]
    )
    results = read_results(data)
    records = _read(results)
    assert results.kind == "csv"
    assert [(a.id, lot, row.registration.normalized) for a, lot, row in records] == [
        ("dvla-csv-1", 1, "AA54NDS"),
        ("dvla-csv-1", 2, "479AAV"),
        ("dvla-csv-2", 1, "1A"),
        ("dvla-csv-3", 1, "B2"),
    ]
    first, unsold = records[0][2], records[1][2]
    assert (first.hammer_price_pence, first.starting_price_pence, first.sold) == (28_000, 25_000, True)
    assert (unsold.hammer_price_pence, unsold.sold) == (None, False)
    assert [(a.sequence, a.catalogue_size, a.name) for a, _, _ in records[::2]] == [
        (1, 3, "DVLA auction 1 (combined results file)"),
        (2, 2, "DVLA auction 2 (combined results file)"),
    ]
    assert [line for line, _ in _lines(results)] == [4, 6]
    assert "registration 'ZZZ ZZZ'" in _lines(results)[0][1]
    assert "'lots' is not a price" in _lines(results)[1][1]


def test_excel_export_is_one_auction_named_by_its_sale_date_or_its_event() -> None:
    data = excel_bytes(lots(["AB12 CDE", "1 A", "S1 MON"]), title="DVLA Timed Auction, March 2024")
    by_date = _read(read_results(data))
    auction = by_date[0][0]
    assert (auction.id, auction.name, auction.sale_date) == (
        "dvla-2024-03-14",
        "DVLA Timed Auction, March 2024",
        date(2024, 3, 14),
    )
    assert {row.sold_on for _, _, row in by_date} == {date(2024, 3, 14)}
    by_event = _read(read_results(data, event_id="1234"))
    assert {a.id for a, _, _ in by_event} == {"dvla-event-1234"}
    by_prefix = _read(read_results(data, prefix="t-x"))
    assert {a.id for a, _, _ in by_prefix} == {"t-x-1"}
    undated = _read(read_results(excel_bytes(lots(["AB12 CDE"]), end=None)))
    assert undated[0][0].id == "dvla-csv-1"  # nothing but its place in the file
    assert undated[0][0].name == "DVLA auction 1 (combined results file)"


def test_prices_dates_and_lot_numbers_in_the_forms_exports_use() -> None:
    rows: list[tuple[object, object, object, object]] = [
        (1, "AB12 CDE", "£5,000", "£120,000"),
        (2.0, "ABC 123D", 100, "Unsold"),
        ("[3]", "JAM 35", "", 3100.0),
        (4, "J4 MES", 100, True),  # line 5: a boolean is not a price
        (None, "A1", 100, 400),  # line 6: no lot number
        (2, "AB51 CDE", 100, 200),  # line 7: lot 2 twice
    ]
    results = read_results(excel_bytes(rows))
    records = _read(results)
    assert [(lot, row.hammer_price_pence, row.starting_price_pence) for _, lot, row in records] == [
        (1, 12_000_000, 500_000),
        (2, None, 10_000),
        (3, 310_000, None),
    ]
    assert [line for line, _ in _lines(results)] == [5, 6, 7]
    assert _lines(results)[2][1] == "lot 2 appears twice (first on line 3)"
    assert pence(" GBP 99.5 ") == 9_950
    assert pence(0) is None
    for bad in ("-3", "nan", "1e12"):
        with pytest.raises(ValueError, match="not a price"):
            pence(bad)


def test_a_sheet_declaring_the_whole_grid_reads_only_what_is_there() -> None:
    marks = [f"{'ABC'[i // 9_999]}A {i % 9_999 + 1}" for i in range(20_000)]  # dateless, all different
    honest = excel_bytes(lots(marks))
    padded = declare_dimension(honest, "A1:XFD1048576")
    assert len(padded) < 1_000_000
    timings = []
    for data in (honest, padded):
        start = time.perf_counter()
        results = read_results(data)
        assert len(_read(results)) == 20_000
        assert results.problem_count == 0
        timings.append(time.perf_counter() - start)
    # The old reader took 14.5 s on the padded shape; now the declared size changes nothing.
    assert timings[1] < timings[0] * 1.5 + 0.5, timings
    assert timings[1] < 30


def test_a_far_away_cell_ends_reading_after_a_run_of_empty_rows() -> None:
    book = openpyxl.load_workbook(io.BytesIO(excel_bytes(lots(["AB12 CDE", "1 A"]))))
    sheet = book.active
    assert sheet is not None
    sheet.cell(row=1_048_576, column=16_384, value="far away")
    out = io.BytesIO()
    book.save(out)
    with within(5):
        results = read_results(out.getvalue())
        records = _read(results)
    assert len(records) == 2
    assert (
        results.stopped == f"stopped at line {4 + dvla_results.EMPTY_RUN - 1} after {dvla_results.EMPTY_RUN} empty rows"
    )


def test_the_row_cap_stops_reading_and_says_so() -> None:
    good = [csv_line(0, 1, "AB12 CDE")]
    junk = [f"{i},{i},[x],A1,1,1,2," for i in range(dvla_results.MAX_CSV_ROWS)]  # bad lot numbers
    with within(20):
        results = read_results(csv_bytes(good + junk))
        records = _read(results)
    assert len(records) == 1
    cap = dvla_results.MAX_CSV_ROWS
    assert results.stopped == f"reading stopped at line {cap + 1}: the file has more than {cap:,} rows"
    assert results.problem_count == cap - 1  # lines 3 to the cap, then the stop itself
    assert len(results.problems) == dvla_results.KEPT_PROBLEMS


def test_bad_csv_lines_are_reported_rows_not_an_aborted_file() -> None:
    data = csv_bytes(
        [
            csv_line(0, 1, "AA54 NDS"),
            b"1,1,[2],AB12 C\x00DE,250,300,8,",  # line 3: a NUL byte
            csv_line(2, 3, "AAN 17L", 250, "x" * 200_000),  # line 4: a field past csv's 128 KB limit
            csv_line(3, 4, "AB12 CDF", 250, "y" * 5_000),  # line 5: over-long, but inside a line
            "4,4,[5],AB12 CDG,250,\xa3300,8,".encode("cp1252"),  # line 6: a cp1252 pound sign
            csv_line(5, 6, "479 AAV"),
        ]
    )
    with within(5):
        results = read_results(data)
        records = _read(results)
    assert [(lot, row.listed) for _, lot, row in records] == [(1, "AA54 NDS"), (6, "479 AAV")]
    problems = dict(_lines(results))
    assert sorted(problems) == [3, 4, 5, 6]
    assert problems[3] == "contains a NUL byte at column 15"
    assert problems[4] == "the line is longer than 64 KB"
    assert problems[5] == "column 6 holds 5,000 characters, more than 1,000"
    assert problems[6].startswith("is not UTF-8 text (byte 0xA3 at column 22)")


def test_a_200_character_file_name_is_only_a_name(tmp_path: Path) -> None:
    path = tmp_path / ("results " + "x" * 187 + ".xlsx")
    assert len(path.name) == 200
    path.write_bytes(excel_bytes(lots(["AB12 CDE"])))
    records = _read(read_results(path))
    assert [(a.id, lot) for a, lot, _ in records] == [("dvla-2024-03-14", 1)]


def test_a_file_over_the_size_cap_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as handle:  # sparse: the size is checked from the directory entry
        handle.truncate(dvla_results.MAX_FILE_BYTES + 1)
    with pytest.raises(ResultsFileError, match="more than the 20 MB allowed"):
        read_results(huge)


def test_a_zip_bomb_is_refused_before_openpyxl_expands_it() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (dvla_results.MAX_EXPANDED_BYTES + 1))
    with within(5), pytest.raises(ResultsFileError, match="expands to 100 MB, more than the 100 MB allowed"):
        read_results(out.getvalue())


def test_openpyxl_parses_through_defusedxml_so_entities_are_refused() -> None:
    assert openpyxl.DEFUSEDXML is True
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["lot_no", "reg", "current_price"])
    sheet.append([1, "AB12 CDE", 300])
    out = io.BytesIO()
    book.save(out)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    bomb = rewrite_part(
        out.getvalue(), "xl/worksheets/sheet1.xml", lambda xml: laughs + xml.replace(b"AB12 CDE", b"&c;")
    )
    with within(5), pytest.raises(ResultsFileError, match="not a readable Excel workbook: EntitiesForbidden"):
        read_results(bomb)


def test_a_sheet_that_breaks_midway_keeps_the_rows_before_it() -> None:
    data = excel_bytes(lots(["AB12 CDE", "1 A", "S1 MON"]))
    broken = rewrite_part(data, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"S1 MON", b"S1 \x00MON"))
    results = read_results(broken)
    assert [lot for _, lot, _ in _read(results)] == [1, 2]
    assert results.problems[0].line == 4
    assert results.problems[0].message.startswith("the sheet cannot be read from this row on: ParseError")


def test_files_unusable_as_a_whole_say_why(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="no header row naming a lot, a registration and a hammer price"):
        read_results(b"nothing,useful\n1,2\n")
    with pytest.raises(ResultsFileError, match="not a readable Excel workbook: BadZipFile"):
        read_results(b"PK\x03\x04 but not a zip")
    with pytest.raises(ResultsFileError, match="the file is empty"):
        read_results(b"  \n")
    book = openpyxl.Workbook()
    book.active.append(["nothing", "useful"])  # type: ignore[union-attr]
    book.save(tmp_path / "x.xlsx")
    with pytest.raises(ResultsFileError, match="no header row"):
        read_results(tmp_path / "x.xlsx")


def test_same_date_auctions_in_one_file_get_distinct_ids() -> None:
    end = datetime(2024, 3, 14, 12)
    data = excel_bytes([*lots(["AB12 CDE", "1 A"]), *lots(["S1 MON"])], end=end)
    ids = [a.id for a, _, _ in read_results(data)]
    assert ids == ["dvla-2024-03-14", "dvla-2024-03-14", "dvla-2024-03-14-2"]
