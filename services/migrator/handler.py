"""The migrator Lambda: ``alembic upgrade head``, safe to invoke twice at once and against a live API.

Invoked by ``pulumi up`` on every deploy before the new API code serves. It:

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
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, create_engine, pool, text

from services.core import contract, metrics
from services.core.db import database_url
from services.core.schema import alembic_config, current_revision
from services.core.settings import load_settings

__all__ = ["LOCK_KEY", "handler", "migrate"]

LOCK_KEY = 7_270_301_001
"""The advisory lock every migrator takes (any fixed 64-bit number no other code uses)."""
LOCK_TIMEOUT = "10s"
STATEMENT_TIMEOUT = "240s"
DEFAULT_LOCK_WAIT_S = 120.0
_SAFETY_MARGIN_S = 30.0

logger = logging.getLogger("reggie.migrator")


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point. ``event`` is ignored; the environment names the database."""
    del event
    try:
        settings = load_settings()
        url = database_url(settings)
    except Exception as exc:  # any configuration problem becomes an answer, not a crash
        # The settings could not be parsed, so take the stage and service as the platform set them:
        # the failure must still reach the stage's alarm.
        return _reported(_error(exc), os.environ.get(contract.STAGE, ""), os.environ.get(contract.SERVICE_NAME, ""))
    lock_wait_s = DEFAULT_LOCK_WAIT_S
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        lock_wait_s = max(1.0, context.get_remaining_time_in_millis() / 1000 - _SAFETY_MARGIN_S)
    return _reported(migrate(url, lock_wait_s=lock_wait_s), settings.stage, settings.service_name)


def _reported(answer: dict[str, Any], stage: str, service: str) -> dict[str, Any]:
    """``answer``, after its ``DeployRunFailed`` metric line is written."""
    metrics.publish(metrics.deploy_run(stage or "unknown", service or "migrator", failed=answer["status"] != "success"))
    return answer


def migrate(
    url: str,
    *,
    script_location: Path | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
    lock_timeout: str = LOCK_TIMEOUT,
    statement_timeout: str = STATEMENT_TIMEOUT,
) -> dict[str, Any]:
    """Upgrade the database at ``url`` to head under the advisory lock; never raises."""
    try:
        engine = create_engine(url, poolclass=pool.NullPool, connect_args={"connect_timeout": 10})
    except Exception as exc:
        return _error(exc)
    try:
        with engine.connect() as lock_connection:
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


def _error(exc: BaseException) -> dict[str, Any]:
    message = f"{type(exc).__name__}: {exc}".strip()
    # Drivers append SQL and a documentation link on further lines; the first line names the cause.
    first_line = message.splitlines()[0] if message else type(exc).__name__
    logger.error("migration failed: %s", message)
    return {"status": "error", "message": first_line}
