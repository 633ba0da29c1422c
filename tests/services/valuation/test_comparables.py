"""Comparable sales from a real, migrated PostgreSQL: the query (one statement per batch, on plain psycopg),
the reader the function uses (connects on first use, replaces a broken connection, answers ``None`` when
the database is down), and the handler returning them with each valuation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.auction_import import SaleRow, insert_sales
from services.core.connection import conninfo_from_sqlalchemy_url
from services.core.registration import parse
from services.core.valuation_wire import ValuationAnswer
from services.valuation import handler as handler_module
from services.valuation import service
from services.valuation.comparables import SalesReader, comparable_sales, comparable_sales_many

ROWS = [
    ("JAM 35", 5200),
    ("JAM 3", 9100),
    ("JAM 35", 4800),
    ("JAM 353", 1500),
    ("ABC 123", 700),
    ("JAM 36", 0),  # unsold: never a comparable
    ("J4 MES", 3000),  # another format
]
_auctions = itertools.count(1)


def _seed(connection: Any) -> str:
    """The rows above as one test auction; returns its id."""
    auction = f"comparables-{next(_auctions)}"
    insert_sales(
        connection,
        [
            SaleRow.of(
                auction_id=auction,
                auction_name=f"Test auction {auction}",
                lot_number=i + 1,
                registration=reg,
                hammer_price_pence=price * 100,
                source="test",
            )
            for i, (reg, price) in enumerate(ROWS)
        ],
    )
    return auction


def _raw(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the test's session (inside its transaction, so the seed is visible)."""
    return session.connection().connection.driver_connection  # type: ignore[return-value]


def test_exact_mark_first_then_most_alike(db_session: Session) -> None:
    auction = _seed(db_session.connection())
    found = [c for c in comparable_sales(_raw(db_session), "jam35", limit=10) if c.auction_id == auction]
    assert [c.registration for c in found[:2]] == ["JAM 35", "JAM 35"]
    assert {c.hammer_price_pence for c in found[:2]} == {520_000, 480_000}
    assert found[0].similarity == 1.0
    assert all(c.registration not in ("JAM 36", "J4 MES", "ABC 123") for c in found)
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert len(comparable_sales(_raw(db_session), "JAM 35", limit=1)) == 1


def test_invalid_or_unknown_marks_find_nothing(db_session: Session) -> None:
    _seed(db_session.connection())
    assert comparable_sales(_raw(db_session), "not a plate!") == []
    assert comparable_sales(_raw(db_session), "XYZ 9") == []
    assert comparable_sales(_raw(db_session), "JAM 35", limit=0) == []


def test_a_batch_is_answered_in_order_duplicates_included(db_session: Session) -> None:
    _seed(db_session.connection())
    marks = [parse("XYZ 9"), parse("JAM 35"), parse("ABC 123"), parse("JAM 35")]
    found = comparable_sales_many(_raw(db_session), marks, limit=3)
    assert len(found) == 4
    assert found[0] == []
    assert found[1] == found[3]
    assert found[1][0].registration == "JAM 35"
    assert found[2][0].registration == "ABC 123"
    assert all(len(sales) <= 3 for sales in found)


@pytest.fixture
def committed_sales(db_engine: Engine) -> Iterator[str]:
    """The test rows committed (the reader has its own connection), removed afterwards."""
    with db_engine.begin() as connection:
        auction = _seed(connection)
    yield auction
    with db_engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM sales WHERE auction_id = %(a)s", {"a": auction})


def test_the_reader_connects_once_and_replaces_a_broken_connection(
    committed_sales: str, migrated_database_url: str
) -> None:
    reader = SalesReader(conninfo_from_sqlalchemy_url(migrated_database_url))
    first = reader.comparables([parse("JAM 35")])
    assert first is not None
    assert first[0][0].registration == "JAM 35"
    connection = reader._connection
    assert connection is not None
    with psycopg.connect(conninfo_from_sqlalchemy_url(migrated_database_url), autocommit=True) as admin:
        # What a failover or a paused cluster does to a connection held by a frozen environment.
        admin.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))
    again = reader.comparables([parse("JAM 35")])
    assert again == first
    assert reader._connection is not connection
    reader.reset()


def test_a_database_that_does_not_answer_gives_no_comparables_not_an_error() -> None:
    reader = SalesReader("postgresql://postgres@127.0.0.1:1/reggie", connect_timeout_s=1)
    assert reader.comparables([parse("JAM 35")]) is None
    answers = service.results(["JAM 35", "nope"], sales=reader)
    assert answers[0].price is not None
    assert answers[0].comparables is None  # absent on the wire: could not be read
    assert answers[1].error is not None


def test_the_handler_returns_comparables_with_each_valuation(
    committed_sales: str, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployed shape: the handler's reader from the environment (here DATABASE_URL, on Lambda the
    database link's DB_HOST and secret), one batch, comparables per mark, none for an invalid one."""
    for name, value in {
        "STAGE": "dev-test",
        "SERVICE_NAME": "valuation",
        "DATABASE_URL": migrated_database_url,
    }.items():
        monkeypatch.setenv(name, value)
    reader = handler_module._sales_reader()
    assert reader is not None
    monkeypatch.setattr(handler_module, "sales", reader)
    answer = msgspec.convert(handler_module.handler({"registrations": ["jam 35", "XYZ 9", "??"]}), ValuationAnswer)
    assert answer.results is not None
    jam, unknown, invalid = answer.results
    assert jam.comparables is not None
    assert jam.comparables[0].registration == "JAM 35"
    assert {c.auction_id for c in jam.comparables} >= {committed_sales}
    assert unknown.comparables == []  # looked up, none alike
    assert invalid.error is not None
    assert invalid.comparables is None
    reader.reset()


def test_without_a_database_the_handler_values_without_comparables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "DB_HOST", "DB_NAME", "DB_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "dev-test")
    monkeypatch.setenv("SERVICE_NAME", "valuation")
    assert handler_module._sales_reader() is None
    result = handler_module.handler({"registration": "JAM 35"})
    assert "comparables" not in result
