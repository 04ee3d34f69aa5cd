"""Alembic revisions for the bot's tables (their own version table, after the core's)."""
