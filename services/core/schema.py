"""Alembic, driven from Python: one place that knows where the migrations live.

The migrator Lambda, ``make dev`` and the tests all migrate through these functions, so they run
the same revisions the same way. ``alembic.ini`` and ``migrations/`` sit at the repository root,
which is also the root of the migrator's image (``/var/task``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool

__all__ = ["REPO_ROOT", "alembic_config", "current_revision", "head_revision", "upgrade_to_head"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(
    url: str | None = None, *, connection: Connection | None = None, script_location: Path | None = None
) -> Config:
    """An Alembic config for ``url`` (or an open ``connection``); ``script_location`` overrides the
    migrations folder (tests use a copy with an extra revision)."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    if script_location is not None:
        config.set_main_option("script_location", str(script_location))
    if url is not None:
        # ConfigParser interpolation treats % specially; URL-encoded passwords contain it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision(script_location: Path | None = None) -> str | None:
    """The newest revision in the migrations folder."""
    return ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_current_head()


def current_revision(url_or_connection: str | Connection) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    if isinstance(url_or_connection, Connection):
        return MigrationContext.configure(url_or_connection).get_current_revision()
    engine = create_engine(url_or_connection, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade_to_head(url: str) -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` to head; returns (revision before, revision after)."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), "head")
    return before, current_revision(url)
