"""The migrator Lambda: ``alembic upgrade head``, safe to invoke twice at once and against a live API.

Invoked by ``pulumi up`` on every deploy before the new API code serves. It:

0. reaches the database, retrying with backoff for most of its timeout: on a stage's first deploy the
   NAT instance may still be booting (the database secret is read through it), a fresh IAM grant may not
   have propagated yet, and a personal stage's paused Aurora resumes only when a connection asks it to
   (15 to 30 s). Each attempt reads the secret and connects; only a configuration error stops it early;
1. takes a PostgreSQL advisory lock on a dedicated connection, so two invocations (a retried
   deploy, two stacks sharing a database) migrate one after the other: the second waits, then
   finds the schema at head and does nothing. The lock lives on its own connection so that no
   migration transaction, timeout or failure can release it early;
2. sets ``lock_timeout`` on the migration connection: DDL waiting behind a live API query would
   otherwise queue every later query behind itself; failing fast and retrying the deploy is
   better than stalling the API. ``statement_timeout`` bounds a runaway statement well inside the
   function's own timeout;
3. runs every pending revision, each in its own transaction (see ``migrations/env.py``), so a
   failing revision leaves the schema at the revision before it.

It answers ``{"status": "success", "from": rev, "to": rev}`` or
``{"status": "error", "message": ...}`` and never raises: the deploy reads the answer. Each run also
writes one ``DeployRunFailed`` metric line (0 or 1, :mod:`services.core.metrics`): a failed run has no
Lambda error to count, and the stage's alarm on that metric stays raised until a run succeeds.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, create_engine, pool, text
from sqlalchemy.exc import InterfaceError, OperationalError

from services.core import contract, metrics
from services.core.credentials import QuickSecretsClient, RotatingCredentials
from services.core.db import database_url
from services.core.schema import alembic_config, current_revision
from services.core.settings import Settings, SettingsError, load_settings

__all__ = ["LOCK_KEY", "DatabaseUnreachable", "connect_with_backoff", "handler", "migrate"]

LOCK_KEY = 7_270_301_001
"""The advisory lock every migrator takes (any fixed 64-bit number no other code uses)."""
LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "240s"
DEFAULT_LOCK_WAIT_S = 120.0
DEFAULT_CONNECT_WAIT_S = 60.0
CONNECT_TIMEOUT_S = 10
"""One attempt's TCP and login timeout (a resuming Aurora answers within it or the next attempt's)."""
FIRST_RETRY_DELAY_S = 1.0
MAX_RETRY_DELAY_S = 15.0
MIGRATION_BUDGET_S = 90.0
"""What the Lambda's timeout keeps for the lock and the migration itself; the rest may go on reaching the
database."""
_SAFETY_MARGIN_S = 30.0

Clock = Callable[[], float]

logger = logging.getLogger("reggie.migrator")


class DatabaseUnreachable(Exception):
    """Every attempt to read the credentials and connect failed until the time allowed ran out."""


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point. ``event`` is ignored; the environment names the database."""
    del event
    try:
        settings = load_settings()
        url = _url_reader(settings)
    except Exception as exc:  # any configuration problem becomes an answer, not a crash
        # The settings could not be parsed, so take the stage and service as the platform set them:
        # the failure must still reach the stage's alarm.
        return _reported(_error(exc), os.environ.get(contract.STAGE, ""), os.environ.get(contract.SERVICE_NAME, ""))
    connect_wait_s, lock_wait_s = DEFAULT_CONNECT_WAIT_S, DEFAULT_LOCK_WAIT_S
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        usable = context.get_remaining_time_in_millis() / 1000 - _SAFETY_MARGIN_S
        connect_wait_s = max(1.0, usable - MIGRATION_BUDGET_S)
        lock_wait_s = max(1.0, usable)  # counted from when the lock is first asked for, so never too long
    answer = migrate(url, connect_wait_s=connect_wait_s, lock_wait_s=lock_wait_s)
    return _reported(answer, settings.stage, settings.service_name)


def _reported(answer: dict[str, Any], stage: str, service: str) -> dict[str, Any]:
    """``answer``, after its ``DeployRunFailed`` metric line is written."""
    metrics.publish(metrics.deploy_run(stage or "unknown", service or "migrator", failed=answer["status"] != "success"))
    return answer


def _url_reader(settings: Settings) -> Callable[[], str]:
    """What each connection attempt calls for the URL: with a secret, a read of its current value (the
    secret may be unreachable for a while, or rotate between attempts)."""
    location = settings.database
    if location is None or location.secret_arn is None:
        url = database_url(settings)
        return lambda: url
    # Short attempts (services.core.credentials.SECRETS_CLIENT_CONFIG): the backoff decides when to retry.
    credentials = RotatingCredentials(location.secret_arn, QuickSecretsClient())

    def read() -> str:
        credentials.reread()  # a failed attempt may have met a rotated password
        return database_url(settings, credentials=credentials)

    return read


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: the database or AWS not answering (yet), or refusing while a grant propagates;
    never a configuration error, which would fail the same way every time."""
    if isinstance(exc, SettingsError):
        return False
    return isinstance(exc, OperationalError | InterfaceError | OSError) or type(exc).__module__.startswith("botocore")


def connect_with_backoff(
    url: Callable[[], str],
    wait_s: float,
    *,
    clock: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Engine, Connection]:
    """An engine and an open connection, trying again after 1, 2, 4, 8 then every 15 s while attempts fail
    for a transient reason, until ``wait_s`` has passed; then :class:`DatabaseUnreachable` with the last
    reason. A non-transient failure is raised at once."""
    deadline = clock() + wait_s
    delay = FIRST_RETRY_DELAY_S
    attempt = 0
    while True:
        attempt += 1
        engine: Engine | None = None
        try:
            engine = create_engine(url(), poolclass=pool.NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
            return engine, engine.connect()
        except Exception as exc:
            if engine is not None:
                engine.dispose()
            left = deadline - clock()
            if not _transient(exc):
                raise
            if left <= 0:
                raise DatabaseUnreachable(
                    f"no connection after {attempt} attempt(s) in {wait_s:.0f} s; last: {_first_line(exc)}"
                ) from exc
            logger.info("database not reachable yet (attempt %d: %s); next in %.0f s", attempt, _first_line(exc), delay)
            sleep(min(delay, left))
            delay = min(delay * 2, MAX_RETRY_DELAY_S)


def migrate(
    url: str | Callable[[], str],
    *,
    script_location: Path | None = None,
    connect_wait_s: float = DEFAULT_CONNECT_WAIT_S,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    lock_timeout: str = LOCK_TIMEOUT,
    statement_timeout: str = STATEMENT_TIMEOUT,
) -> dict[str, Any]:
    """Upgrade the database at ``url`` (or the URL each attempt reads) to head under the advisory lock,
    reaching it within ``connect_wait_s``; never raises."""
    read_url = url if callable(url) else (lambda: url)
    try:
        engine, lock_connection = connect_with_backoff(read_url, connect_wait_s)
    except Exception as exc:
        return _error(exc)
    try:
        with lock_connection:
            if not _acquire(lock_connection, lock_wait_s):
                return {
                    "status": "error",
                    "message": f"another migration held the advisory lock for more than {lock_wait_s:.0f} s",
                }
            try:
                return _upgrade(engine.connect(), script_location, lock_timeout, statement_timeout)
            finally:
                lock_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                lock_connection.commit()
    except Exception as exc:
        return _error(exc)
    finally:
        engine.dispose()


def _acquire(connection: Connection, wait_s: float) -> bool:
    """Poll ``pg_try_advisory_lock`` (session level) until it succeeds or ``wait_s`` passes."""
    deadline = time.monotonic() + wait_s
    while True:
        acquired = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
        connection.commit()
        if acquired:
            return True
        if time.monotonic() >= deadline:
            return False
        logger.info("waiting for the migration lock held by another migrator")
        time.sleep(0.2)


def _upgrade(
    connection: Connection, script_location: Path | None, lock_timeout: str, statement_timeout: str
) -> dict[str, Any]:
    with connection:
        # Session-level SETs survive the per-revision transactions Alembic opens.
        connection.execute(text("SELECT set_config('lock_timeout', :v, false)"), {"v": lock_timeout})
        connection.execute(text("SELECT set_config('statement_timeout', :v, false)"), {"v": statement_timeout})
        connection.commit()
        before = current_revision(connection)
        connection.commit()
        try:
            command.upgrade(alembic_config(connection=connection, script_location=script_location), "head")
            connection.commit()
        except Exception as exc:
            connection.rollback()
            at = current_revision(connection)
            connection.rollback()
            answer = _error(exc)
            answer.update({"from": before, "at": at})
            return answer
        after = current_revision(connection)
        connection.commit()
    logger.info("migrated from %s to %s", before, after)
    return {"status": "success", "from": before, "to": after}


def _first_line(exc: BaseException) -> str:
    # Drivers append SQL and a documentation link on further lines; the first line names the cause.
    message = f"{type(exc).__name__}: {exc}".strip()
    return message.splitlines()[0] if message else type(exc).__name__


def _error(exc: BaseException) -> dict[str, Any]:
    logger.error("migration failed: %s: %s", type(exc).__name__, exc)
    return {"status": "error", "message": _first_line(exc)}
