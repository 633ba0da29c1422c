"""Local servers for tests: a free loopback port, and a throwaway embedded PostgreSQL."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.local.postgres import EmbeddedPostgres


def free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[EmbeddedPostgres]:
    """A started, non-durable embedded PostgreSQL in a temporary folder, stopped and removed afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as folder,
        EmbeddedPostgres(Path(folder) / "postgres", port=free_port(), durable=False) as server,
    ):
        yield server
