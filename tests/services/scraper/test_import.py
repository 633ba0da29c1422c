"""The scraper on real-shaped files the tests write (CSV and Excel, with broken rows), into real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, delete, select

from services.core.models import Sale
from services.scraper.handler import handler
from services.scraper.importer import auction_key, import_file, read_file
from services.scraper.rows import ResultsFileError, pence

CSV_HEADER = ",Unnamed: 0,lot_no,reg,starting_price,current_price,length,category\n"


@pytest.fixture
def key(db_engine: Engine) -> Iterator[str]:
    """A unique auction id (prefix) per test; the test's sales are deleted afterwards."""
    value = f"t-{uuid.uuid4().hex[:10]}"
    yield value
    with db_engine.begin() as connection:
        connection.execute(delete(Sale).where(Sale.auction_id.startswith(value)))


def _sales(engine: Engine, key: str) -> list[Sale]:
    with engine.connect() as connection:
        query = select(Sale).where(Sale.auction_id.startswith(key)).order_by(Sale.auction_id, Sale.lot_number)
        return [Sale(**row._mapping) for row in connection.execute(query)]


def _write_csv(path: Path) -> Path:
    lines = [
        "0,0,[1],AA54 NDS,250,280,8,",
        "1,1,[2],AAN 17L,250,840,7,names",
        "2,2,[3],479 AAV,800,0,7,dateless",  # unsold
        "3,3,[x],AAZ 550,100,310,7,",  # bad lot number: line 5
        "4,4,[4],Withdrawn,100,310,9,",  # not a registration: line 6
        "5,5,[5],AB12 CDE,100,lots,8,",  # bad price: line 7
        "6,6,[1],1 A,5000,90000,3,number-ones",  # a new auction starts
        "7,7,[1],B 2,5000,50000,3,",  # lot 1 again: a third auction
        "8,8,[2],B 3,5000,-5,3,",  # negative price: line 10
    ]
    path.write_text(CSV_HEADER + "\n".join(lines) + "\n")
    return path


def test_csv_import_reports_bad_lines_and_is_idempotent(db_engine: Engine, key: str, tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "results.csv")
    first = import_file(db_engine, source, auction=key)
    assert first.lots_read == 5
    assert first.inserted == 5
    assert first.auctions == (f"{key}-1", f"{key}-2", f"{key}-3")
    assert [p.line for p in first.problems] == [5, 6, 7, 10]
    assert "lot number" in first.problems[0].message
    assert "Withdrawn" in first.problems[1].message
    assert "not a price" in first.problems[2].message

    sales = _sales(db_engine, key)
    assert [(s.auction_id, s.lot_number, s.registration) for s in sales] == [
        (f"{key}-1", 1, "AA54NDS"),
        (f"{key}-1", 2, "AAN17L"),
        (f"{key}-1", 3, "479AAV"),
        (f"{key}-2", 1, "1A"),
        (f"{key}-3", 1, "B2"),
    ]
    unsold = sales[2]
    assert (unsold.sold, unsold.hammer_price_pence, unsold.starting_price_pence) == (False, None, 80_000)
    assert sales[1].category == "names"
    assert sales[3].hammer_price_pence == 9_000_000

    again = import_file(db_engine, source, auction=key)
    assert (again.inserted, again.already_present) == (0, 5)
    assert len(_sales(db_engine, key)) == 5


def _write_excel(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Timed auction March"
    sheet.append(["DVLA Personalised Registrations: auction results"])
    sheet.append([])
    sheet.append(["Lot No", "Registration", "Reserve", "Hammer Price", "Category", "Sale Date"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_excel_import_with_broken_rows(db_engine: Engine, key: str, tmp_path: Path) -> None:
    source = _write_excel(
        tmp_path / "March Results.xlsx",
        [
            [1, "AB12 CDE", 250, 1250, "names", datetime(2024, 3, 14)],
            [2, "1 A", "£5,000", "£120,000", None, "14/03/2024"],
            [3, "ABC 123D", 100, "Unsold", None, None],
            [4, "QQQ 1", 100, 400, None, None],  # line 7: never issued
            [None, "A1", 100, 400, None, None],  # line 8: no lot
            [],  # blank lines are not problems
            [5, "S1 MON", 100, "call us", None, None],  # line 10: bad price
            [2, "AB51 CDE", 100, 200, None, None],  # line 11: lot 2 twice
            [6, "J4 MES", 100, 700, None, "yesterday"],  # line 12: bad date
            [7, "JAM 35", "", 3100.0, "", None],
        ],
    )
    report = import_file(db_engine, source, auction=key)
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [
        (7, "registration 'QQQ 1'"),
        (8, "lot number None is not a positive whole number"),
        (10, "'call us' is not a price"),
        (11, "lot 2 appears twice (first on line 5)"),
        (12, "date 'yesterday' is not a date (like 2024-03-14 or 14/03/2024)"),
    ]
    assert report.inserted == 4
    sales = _sales(db_engine, key)
    assert [(s.lot_number, s.registration_display, s.hammer_price_pence, s.sold) for s in sales] == [
        (1, "AB12 CDE", 125_000, True),
        (2, "1 A", 12_000_000, True),
        (3, "ABC 123D", None, False),
        (7, "JAM 35", 310_000, True),
    ]
    assert sales[0].sold_on == date(2024, 3, 14)
    assert sales[1].sold_on == date(2024, 3, 14)
    assert sales[1].starting_price_pence == 500_000
    assert sales[0].auction_name == "Timed auction March (March Results.xlsx)"
    assert import_file(db_engine, source, auction=key).inserted == 0


def test_excel_without_a_header_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["nothing", "useful"])
    book.save(tmp_path / "x.xlsx")
    with pytest.raises(ResultsFileError, match="no header row"):
        read_file(tmp_path / "x.xlsx")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ResultsFileError, match="not a readable Excel workbook"):
        read_file(tmp_path / "broken.xlsx")
    with pytest.raises(ResultsFileError, match="expected an Excel export"):
        read_file(tmp_path / "results.pdf")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ResultsFileError, match="missing columns"):
        read_file(tmp_path / "other.csv")


def test_prices_and_keys() -> None:
    assert pence("£1,250") == 125_000
    assert pence(" GBP 99.5 ") == 9_950
    assert pence(0) is None
    assert pence("Withdrawn") is None
    with pytest.raises(ValueError, match="not a price"):
        pence("-3")
    assert auction_key(Path("Results 14-03-2024.xlsx")) == "results-14-03-2024"


def test_handler_imports_files_and_answers_errors(
    db_engine: Engine, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_database_url: str
) -> None:
    from services.core import db, settings

    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("SERVICE_NAME", "scraper")
    monkeypatch.setenv("DATABASE_URL", migrated_database_url)
    monkeypatch.delenv("RESULTS_URL", raising=False)
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    try:
        source = _write_csv(tmp_path / f"{key}.csv")
        answer = handler({"files": [str(source)]})
        assert answer["imports"][0]["inserted"] == 5
        assert [p["line"] for p in answer["imports"][0]["problems"]] == [5, 6, 7, 10]
        assert handler({"source": "aws.events"})["imports"] == []
        assert handler({"url": "http://example.invalid/x.csv"})["error"]["code"] == "invalid_event"
        assert handler({"files": []})["error"]["code"] == "invalid_event"
        assert handler(["x"])["error"]["code"] == "invalid_event"
        assert handler({"files": [str(tmp_path / "missing.txt")]})["error"]["code"] == "bad_results_file"
    finally:
        for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
            cached.cache_clear()
