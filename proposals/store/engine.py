"""Turn a database URL into a configured SQLAlchemy engine (SQLite file or PostgreSQL via psycopg 3).

Every engine made here translates the database's own failures (locked, corrupt, unreachable) into
`Unavailable` naming the database, so each front end says what is wrong instead of "internal error".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.pool import StaticPool

from proposals.errors import InvalidInput, Unavailable

# Seconds a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT = 30
# Seconds after which a caller refused because the database was locked may try again.
BUSY_RETRY_AFTER = 5
# Seconds a front end's write (the API's, the bot's) waits for another process's lock before giving up.
# The front ends' shared write lock is held meanwhile, so everything queues behind this wait: it is kept
# short instead of SQLITE_BUSY_TIMEOUT, and both front ends answer "busy, try again" alike.
WRITE_LOCK_WAIT = 2.0
_REASON_CHARS = 200
# The busy timeout for statements run in this context; None means SQLITE_BUSY_TIMEOUT.
_lock_wait: ContextVar[float | None] = ContextVar("sqlite_lock_wait", default=None)


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


def describe_database(url: URL) -> str:
    """Name the database for people: the SQLite file, or the URL with its password hidden."""
    if url.get_backend_name() == "sqlite":
        return "in memory" if url.database in (None, "", ":memory:") else str(url.database)
    return url.render_as_string(hide_password=True)


@contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Within the block, let this thread's SQLite statements wait at most `seconds` for another writer's lock."""
    token = _lock_wait.set(seconds)
    try:
        yield
    finally:
        _lock_wait.reset(token)


def make_engine(url: str | URL) -> Engine:
    """Create one engine for `url`: WAL and foreign keys on SQLite, pre-ping on every pooled connection."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True)
        event.listen(engine, "handle_error", _translator(parsed))
        return engine
    memory = parsed.database in (None, "", ":memory:")
    options: dict[str, Any] = {"pool_pre_ping": True}
    options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
    if memory:
        # Every new connection to :memory: is a new, empty database: share one.
        options["poolclass"] = StaticPool
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "checkout", _sqlite_busy_timeout)
    event.listen(engine, "handle_error", _translator(parsed))
    return engine


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
    record.info["busy_ms"] = SQLITE_BUSY_TIMEOUT * 1000


def _sqlite_busy_timeout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Give a pooled connection the busy timeout its borrower asked for (see lock_wait)."""
    wanted = _lock_wait.get()
    busy_ms = round((SQLITE_BUSY_TIMEOUT if wanted is None else wanted) * 1000)
    if record.info.get("busy_ms") == busy_ms:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms:d}")
    finally:
        cursor.close()
    record.info["busy_ms"] = busy_ms


def _translator(url: URL) -> Callable[[ExceptionContext], None]:
    """Return a handle_error listener raising InvalidInput / Unavailable in place of driver errors."""
    where = describe_database(url)
    password = url.password if isinstance(url.password, str) and url.password else None

    def translate(context: ExceptionContext) -> None:
        if context.is_pre_ping:
            return  # a stale pooled connection: the pool reconnects on its own
        original = context.original_exception
        if isinstance(original, OverflowError):
            raise InvalidInput("a number is out of the database's range (64-bit integers)") from original
        wrapped = context.sqlalchemy_exception
        # IntegrityError and the like are the store's to interpret; only the database being unusable is ours.
        if not isinstance(wrapped, OperationalError) and type(wrapped) is not DatabaseError:
            return
        reason = (str(original).splitlines() or ["unknown error"])[0][:_REASON_CHARS]
        if password:
            reason = reason.replace(password, "***")
        if "locked" in reason or "lock timeout" in reason:
            raise Unavailable(
                f"the database {where} is busy (locked by another process); try again shortly",
                retry_after=BUSY_RETRY_AFTER,
            ) from original
        if isinstance(wrapped, OperationalError):
            raise Unavailable(f"the database {where} is unavailable: {reason}") from original
        raise Unavailable(f"the database {where} cannot be used: {reason}") from original

    return translate
