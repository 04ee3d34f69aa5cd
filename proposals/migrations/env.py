"""Alembic environment for the store; proposals.store.schema drives it, so no alembic.ini is needed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from proposals.store.engine import make_engine
from proposals.store.tables import Base

# Replicas that start together take turns: the first migrates, the others then find nothing to do.
MIGRATION_LOCK_KEY = 0x64737461636B  # "dstack"


def run_on(connection: Connection) -> None:
    """Run the pending revisions on `connection` in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_online() -> None:
    """Migrate through the caller's connection, or one opened from sqlalchemy.url."""
    shared = context.config.attributes.get("connection")
    if shared is not None:
        run_on(shared)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    """Print the SQL instead of running it (alembic upgrade --sql)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
