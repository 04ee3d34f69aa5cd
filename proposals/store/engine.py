"""Turn a database URL into a configured SQLAlchemy engine (SQLite file or PostgreSQL via psycopg 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from proposals.errors import InvalidInput

# Seconds a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT = 30


def normalise_url(url: str | URL) -> URL:
    """Parse `url`, pointing plain postgresql:// (and postgres://) URLs at the psycopg 3 driver."""
    raw = url if isinstance(url, URL) else str(url)
    if isinstance(raw, str) and raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise InvalidInput("the database URL is not valid (expected sqlite:///FILE or postgresql://...)") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise InvalidInput(f"unsupported database {parsed.drivername!r}: use sqlite:///FILE or postgresql://...")
    return parsed


def make_engine(url: str | URL) -> Engine:
    """Create one engine for `url`: WAL and foreign keys on SQLite, pre-ping on every pooled connection."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    memory = parsed.database in (None, "", ":memory:")
    options: dict[str, Any] = {"pool_pre_ping": True}
    options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
    if memory:
        # Every new connection to :memory: is a new, empty database: share one.
        options["poolclass"] = StaticPool
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
