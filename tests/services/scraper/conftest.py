"""Fixtures of the scraper tests: the auctioneer stand-in and a database without auction events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.services.scraper.auctioneer import Auctioneer, serve_auctioneer
from tests.services.scraper.database import without_auction_data


@pytest.fixture
def auctioneer() -> Iterator[Auctioneer]:
    with serve_auctioneer() as site:
        yield site


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[Engine]:
    """The shared test database with no auction events and no DVLA auction sales before or after the test."""
    with without_auction_data(db_engine) as engine:
        yield engine
