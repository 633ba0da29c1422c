"""The API's async read pool against a real PostgreSQL: bounded connections, reuse, retry on a
broken connection, age limit, a changed event loop, and clear failures."""

from __future__ import annotations

import asyncio
import socket

import psycopg
import pytest

from services.api.reads import DatabaseUnavailable, ReadPool, conninfo_from_sqlalchemy_url


@pytest.fixture
def conninfo(postgres_url: str) -> str:
    return conninfo_from_sqlalchemy_url(postgres_url)


def _pool(conninfo: str, *, size: int = 2, max_age_s: float = 600) -> ReadPool:
    return ReadPool(conninfo, size=size, max_age_s=max_age_s, connect_timeout_s=2, application_name="reggie-test")


async def _backend_pid(pool: ReadPool) -> int:
    return (await pool.one("SELECT pg_backend_pid() AS pid", {})).pid


def test_sqlalchemy_url_becomes_a_libpq_uri() -> None:
    assert (
        conninfo_from_sqlalchemy_url("postgresql+psycopg://u:p%40ss@db:5432/app") == "postgresql://u:p%40ss@db:5432/app"
    )
    assert conninfo_from_sqlalchemy_url("postgresql://u@db/app") == "postgresql://u@db/app"
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        conninfo_from_sqlalchemy_url("mysql://u@db/app")


def test_rows_are_named_tuples_with_bound_parameters(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo)
        rows = await pool.all("SELECT n, n * %(k)s AS scaled FROM generate_series(1, 3) AS n", {"k": 10})
        assert [(r.n, r.scaled) for r in rows] == [(1, 10), (2, 20), (3, 30)]
        with pytest.raises(RuntimeError, match="expected one row, got 3"):
            await pool.one("SELECT n FROM generate_series(1, 3) AS n", {})
        await pool.close()

    asyncio.run(scenario())


def test_concurrent_reads_share_at_most_size_connections(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo, size=2)
        rows = await asyncio.gather(
            *(pool.one("SELECT pg_backend_pid() AS pid, pg_sleep(0.02) AS slept", {}) for _ in range(12))
        )
        assert len({r.pid for r in rows}) == 2
        assert pool.idle_connections == 2
        # A later read reuses a kept connection rather than opening a new one.
        assert await _backend_pid(pool) in {r.pid for r in rows}
        await pool.close()
        assert pool.idle_connections == 0

    asyncio.run(scenario())


def test_a_broken_connection_is_replaced_and_the_read_retried(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo, size=1)
        first = await _backend_pid(pool)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        await asyncio.sleep(0.05)
        second = await _backend_pid(pool)  # the pool's only connection was killed under it
        assert second != first
        await pool.close()

    asyncio.run(scenario())


def test_after_a_restart_one_read_recovers_even_with_every_idle_connection_broken(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo, size=3)
        rows = await asyncio.gather(
            *(pool.one("SELECT pg_backend_pid() AS pid, pg_sleep(0.05) AS slept", {}) for _ in range(3))
        )
        pids = [r.pid for r in rows]
        assert pool.idle_connections == 3
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            for pid in pids:  # as a server restart or an Aurora failover would
                await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.05)
        assert await _backend_pid(pool) not in pids
        await pool.close()

    asyncio.run(scenario())


def test_connections_older_than_the_age_limit_are_replaced(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo, size=1, max_age_s=0)
        assert await _backend_pid(pool) != await _backend_pid(pool)
        await pool.close()

    asyncio.run(scenario())


def test_an_sql_error_propagates_and_frees_its_connection(conninfo: str) -> None:
    async def scenario() -> None:
        pool = _pool(conninfo, size=1)
        with pytest.raises(psycopg.errors.UndefinedTable):
            await pool.all("SELECT * FROM no_such_table", {})
        with pytest.raises(psycopg.errors.DivisionByZero):
            await pool.all("SELECT 1 / 0", {})
        assert (await pool.one("SELECT 41 + 1 AS answer", {})).answer == 42  # the only slot was released
        await pool.close()

    asyncio.run(scenario())


def test_a_new_event_loop_gets_new_connections(conninfo: str) -> None:
    pool = _pool(conninfo, size=1)
    first = asyncio.run(_backend_pid(pool))
    second = asyncio.run(_backend_pid(pool))
    assert first != second
    asyncio.run(pool.close())


def test_an_unreachable_database_is_reported_as_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = _pool(f"postgresql://nobody@127.0.0.1:{port}/none", size=1)

    async def scenario() -> None:
        for _ in range(2):  # the failed connect gives its slot back, so the second call fails the same way
            with pytest.raises(DatabaseUnavailable, match="connection"):
                await pool.one("SELECT 1", {})

    asyncio.run(asyncio.wait_for(scenario(), timeout=10))


def test_a_pool_needs_a_connection() -> None:
    with pytest.raises(ValueError, match="at least one connection"):
        ReadPool("postgresql://u@db/app", size=0, max_age_s=1)
