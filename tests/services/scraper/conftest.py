"""Fixtures of the scraper tests: the auctioneer stand-in and a database without auction events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete

from services.core.models import AuctionEvent, Sale
from tests.services.scraper.auctioneer import Auctioneer, serve_auctioneer


@pytest.fixture
def auctioneer() -> Iterator[Auctioneer]:
    with serve_auctioneer() as site:
        yield site


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[Engine]:
    """The shared test database with no auction events and no DVLA auction sales before or after the test."""

    def clean() -> None:
        with db_engine.begin() as connection:
            connection.execute(delete(AuctionEvent))
            connection.execute(delete(Sale).where(Sale.auction_id.like("dvla-%")))

    clean()
    yield db_engine
    clean()
