"""Alembic environment: migrations run against ``services.core.models.Base.metadata``.

Where the connection comes from, first match wins:
1. ``config.attributes["connection"]``: an open SQLAlchemy connection (the migrator passes the
   one on which it set its lock and statement timeouts);
2. the ``sqlalchemy.url`` option (``alembic -x`` is not needed; tests set it on the Config);
3. the service settings (``DATABASE_URL``, or the Aurora variables on Lambda).

Each revision runs in its own transaction (PostgreSQL DDL is transactional), so a failing revision
rolls back to the one before it and ``alembic_version`` never points at a half-applied schema.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from services.core.db import database_url
from services.core.models import Base
from services.core.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        transaction_per_migration=True,
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
