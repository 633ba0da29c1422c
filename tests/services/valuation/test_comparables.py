"""Comparable sales from a real, migrated PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.core.auction_import import SaleRow, insert_sales
from services.valuation.comparables import comparable_sales


def _seed(session: Session) -> None:
    rows = [
        ("JAM 35", 5200),
        ("JAM 3", 9100),
        ("JAM 35", 4800),
        ("JAM 353", 1500),
        ("ABC 123", 700),
        ("JAM 36", 0),  # unsold: never a comparable
        ("J4 MES", 3000),  # another format
    ]
    insert_sales(
        session.connection(),
        [
            SaleRow.of(
                auction_id=f"test-{i // 3}",
                auction_name=f"Test auction {i // 3}",
                lot_number=i + 1,
                registration=reg,
                hammer_price_pence=price * 100,
                source="test",
            )
            for i, (reg, price) in enumerate(rows)
        ],
    )


def test_exact_mark_first_then_most_alike(db_session: Session) -> None:
    _seed(db_session)
    found = comparable_sales(db_session, "jam35", limit=4)
    assert [c["registration"] for c in found[:2]] == ["JAM 35", "JAM 35"]
    assert {c["price"] for c in found[:2]} == {5200, 4800}
    assert all(c["registration"] not in ("JAM 36", "J4 MES", "ABC 123") for c in found)
    assert found[0]["currency"] == "GBP"
    assert found[0]["similarity"] >= found[-1]["similarity"]
    assert len(comparable_sales(db_session, "JAM 35", limit=1)) == 1


def test_invalid_or_unknown_marks_find_nothing(db_session: Session) -> None:
    _seed(db_session)
    assert comparable_sales(db_session, "not a plate!") == []
    assert comparable_sales(db_session, "XYZ 9") == []
    assert comparable_sales(db_session, "JAM 35", limit=0) == []
