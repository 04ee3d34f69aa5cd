"""Alembic environment for the bot's tables; they keep their own version table beside the core's."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from bot.store import VERSION_TABLE, metadata

# Replicas that start together take turns (a different key from the core's migration lock).
MIGRATION_LOCK_KEY = 0x64737461636C  # "dstacl"


def run_on(connection: Connection) -> None:
    """Run the pending bot revisions on `connection` in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bot migrations run through bot.store.migrate_bot (pass a connection)")
run_on(connection)
