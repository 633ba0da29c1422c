"""Writing auction results to sales (real PostgreSQL): new, corrected and conflicting lots, and the
cached valuations an import makes stale."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.core import auction_import
from services.core.auction_import import SaleRow, SalesWrite, write_records
from services.core.dvla_results import read_results
from services.core.models import Sale, Valuation
from services.core.registration import InvalidRegistration
from services.valuation.comparables import comparable_sales
from tests.services.scraper.results_files import Lot, excel_bytes, lots


def _prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def _write(session: Session, rows: Sequence[Lot], prefix: str) -> SalesWrite:
    return write_records(session.connection(), read_results(excel_bytes(rows), prefix=prefix), source="dvla-excel")


def _stored(session: Session, prefix: str) -> list[tuple[int, str, int | None]]:
    query = select(Sale.lot_number, Sale.registration, Sale.hammer_price_pence).where(Sale.auction_id == f"{prefix}-1")
    return [tuple(r) for r in session.execute(query.order_by(Sale.lot_number))]  # type: ignore[misc]


def test_a_second_write_of_the_same_file_changes_nothing(db_session: Session) -> None:
    prefix = _prefix()
    rows = lots(["AB12 CDE", "1 A", "S1 MON"])
    first = _write(db_session, rows, prefix)
    assert (first.rows, first.inserted, first.updated, first.unchanged, first.conflict_count) == (3, 3, 0, 0, 0)
    again = _write(db_session, rows, prefix)
    assert (again.inserted, again.updated, again.unchanged, again.conflict_count) == (0, 0, 3, 0)
    assert _stored(db_session, prefix) == [(1, "AB12CDE", 30_000), (2, "1A", 31_000), (3, "S1MON", 32_000)]


def test_a_corrected_file_updates_its_lots_and_reports_a_lot_holding_another_mark(db_session: Session) -> None:
    prefix = _prefix()
    _write(db_session, lots(["AB12 CDE", "1 A", "S1 MON"]), prefix)
    corrected = [
        (1, "AB12 CDE", 250, 300),  # as before
        (2, "1 A", 250, 99_000),  # a corrected price
        (3, "J4 MES", 250, 500),  # lot 3 holds S1 MON: a conflict
        (4, "JAM 35", 250, 700),  # a lot added
    ]
    result = _write(db_session, corrected, prefix)
    assert (result.inserted, result.updated, result.unchanged, result.conflict_count) == (1, 1, 1, 1)
    assert [str(c) for c in result.conflicts] == [
        f"auction {prefix}-1 lot 3 already holds S1 MON, not J4 MES; the stored lot is kept"
    ]
    assert _stored(db_session, prefix) == [
        (1, "AB12CDE", 30_000),
        (2, "1A", 9_900_000),
        (3, "S1MON", 32_000),
        (4, "JAM35", 70_000),
    ]


def _value(session: Session, mark: str) -> None:
    session.add(Valuation(registration=mark, model_version="test", estimate_pence=1, low_pence=1, high_pence=1))
    session.flush()


def _stale(session: Session) -> dict[str, bool]:
    rows = session.execute(select(Valuation.registration, Valuation.stale).where(Valuation.model_version == "test"))
    return {str(mark): bool(stale) for mark, stale in rows.all()}


def test_an_import_marks_cached_valuations_of_comparable_marks_stale(db_session: Session) -> None:
    for mark in ("AB12CDE", "AB12CDF", "AB12", "1A", "ZZ99"):
        _value(db_session, mark)
    # AB12 (dateless) reads much like AB12 CDF, but comparables are of the same format only.
    assert db_session.scalar(text("SELECT similarity('AB12', 'AB12CDF') > show_limit()")) is True
    assert set(_stale(db_session).values()) == {False}

    result = _write(db_session, [(1, "AB12 CDF", 250, 400), (2, "1 A", 250, 0)], _prefix())  # 1 A is unsold
    assert result.stale_valuations >= 2  # other tests may have left cached valuations of similar marks
    assert _stale(db_session) == {"AB12CDE": True, "AB12CDF": True, "AB12": False, "1A": False, "ZZ99": False}

    # The API refreshing a cached valuation (its upsert sets created_at) makes it current again.
    db_session.execute(text("UPDATE valuations SET created_at = clock_timestamp() WHERE registration = 'AB12CDE'"))
    db_session.expire_all()
    assert _stale(db_session)["AB12CDE"] is False
    # What the API shows next to a valuation already includes the new sale.
    raw = db_session.connection().connection.driver_connection  # psycopg's, inside the test's transaction
    assert raw is not None
    assert [c.registration for c in comparable_sales(raw, "AB12 CDE")][:1] == ["AB12 CDF"]


def test_a_bulk_load_marks_every_cached_valuation_stale(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auction_import, "BULK_STALE_MARKS", 1)
    for mark in ("AB12CDE", "1A"):
        _value(db_session, mark)
    result = _write(db_session, [(1, "S1 MON", 250, 400), (2, "J4 MES", 250, 400)], _prefix())
    assert result.stale_valuations >= 2
    assert _stale(db_session) == {"AB12CDE": True, "1A": True}


def test_sale_rows_are_only_of_issued_marks() -> None:
    row = SaleRow.of(
        auction_id="a", auction_name="A", lot_number=1, registration="ab12cde", hammer_price_pence=0, source="x"
    )
    assert (row.registration, row.registration_display, row.format, row.sold) == (
        "AB12CDE",
        "AB12 CDE",
        "current",
        False,
    )
    with pytest.raises(InvalidRegistration):
        SaleRow.of(
            auction_id="a", auction_name="A", lot_number=1, registration="Withdrawn", hammer_price_pence=1, source="x"
        )
