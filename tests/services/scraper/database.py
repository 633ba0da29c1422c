"""The scraper tests' view of the shared test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete

from services.core.models import AuctionEvent, Sale


@contextmanager
def without_auction_data(engine: Engine) -> Iterator[Engine]:
    """``engine``'s database with no auction events and no DVLA auction sales before or after the block."""

    def clean() -> None:
        with engine.begin() as connection:
            connection.execute(delete(AuctionEvent))
            connection.execute(delete(Sale).where(Sale.auction_id.like("dvla-%")))

    clean()
    try:
        yield engine
    finally:
        clean()
