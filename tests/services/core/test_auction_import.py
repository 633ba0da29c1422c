"""The DVLA CSV import: auction blocks from restarting lot numbers, pence, unsold lots, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from services.core.auction_import import (
    AuctionCsvError,
    SaleRow,
    import_auction_csv,
    insert_sales,
    read_auction_csv,
)
from services.core.models import Sale
from services.core.schema import upgrade_to_head

CSV = """,Unnamed: 0,lot_no,reg,starting_price,current_price,length,category
0,0,[1],AA54 NDS,250,280,8,
1,1,[2],479 AAV,800,0,7,dateless
2,2,[3],ZZZ ZZZ,100,150,7,
3,0,[1],1 A,5000,120000,3,number-onesdateless
4,1,[2],AB12 CDE,250,300,8,
"""


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "combined_auction_results.csv"
    path.write_text(CSV)
    return path


def test_rows_are_split_into_auctions_where_lot_one_restarts(csv_file: Path) -> None:
    rows = list(read_auction_csv(csv_file))
    assert [(r.auction_id, r.lot_number) for r in rows] == [
        ("dvla-csv-1", 1),
        ("dvla-csv-1", 2),
        ("dvla-csv-1", 3),
        ("dvla-csv-2", 1),
        ("dvla-csv-2", 2),
    ]
    first, unsold, invalid, number_one, _ = rows
    assert (first.registration, first.registration_display, first.format) == ("AA54NDS", "AA54 NDS", "current")
    assert (first.hammer_price_pence, first.starting_price_pence, first.sold) == (28_000, 25_000, True)
    assert (unsold.hammer_price_pence, unsold.sold, unsold.category) == (None, False, "dateless")
    assert (invalid.registration, invalid.format) == ("ZZZZZZ", None)  # kept, but with no format
    assert (number_one.registration_display, number_one.format, number_one.hammer_price_pence) == (
        "1 A",
        "dateless",
        12_000_000,
    )


def test_import_is_idempotent(fresh_database_url: str, csv_file: Path) -> None:
    upgrade_to_head(fresh_database_url)
    engine = create_engine(fresh_database_url, poolclass=pool.NullPool)
    try:
        first = import_auction_csv(engine, csv_file)
        second = import_auction_csv(engine, csv_file)
        with Session(engine) as session:
            stored = session.scalars(select(Sale).order_by(Sale.auction_id, Sale.lot_number)).all()
            assert [(s.auction_id, s.lot_number, s.registration) for s in stored][:2] == [
                ("dvla-csv-1", 1, "AA54NDS"),
                ("dvla-csv-1", 2, "479AAV"),
            ]
        with engine.begin() as connection:  # the reusable insert skips lots already present
            again = SaleRow.of(
                auction_id="dvla-csv-1",
                auction_name="x",
                lot_number=1,
                registration="AA54 NDS",
                hammer_price_pence=1,
                source="dvla-csv",
            )
            new = SaleRow.of(
                auction_id="scraper-2024-06",
                auction_name="June 2024",
                lot_number=1,
                registration="B1",
                hammer_price_pence=500_000,
                source="scraper",
            )
            assert insert_sales(connection, [again, new]) == 1
    finally:
        engine.dispose()
    assert (first.inserted, first.lots_in_file, first.skipped) == (5, 5, False)
    assert (second.inserted, second.skipped) == (0, True)
    assert len(stored) == 5


def test_malformed_file_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("lot_no,reg,current_price\n[x],AB12 CDE,100\n")
    with pytest.raises(AuctionCsvError, match=r"bad.csv:2: lot_no '\[x\]'"):
        list(read_auction_csv(bad))
    missing = tmp_path / "missing.csv"
    missing.write_text("a,b\n1,2\n")
    with pytest.raises(AuctionCsvError, match="missing columns"):
        list(read_auction_csv(missing))
