"""One leader among the replicas that share a database: a PostgreSQL advisory lock, or one process on SQLite.

PostgreSQL: the leader holds a session-level advisory lock on a connection of its own, so the lock
lives exactly as long as that session. When the leader process dies, its socket closes (at once on
the same host, kill -9 included) and the lock is free for a follower's next try. When the host or
the network goes instead, the server ends the session by TCP keepalive (5 s idle, then 3 probes
2 s apart: about 11 s); a leader that freezes (SIGSTOP, a stuck loop) stops its heartbeat, and
idle_session_timeout ends its session 10 s later. The leader, for its part, stops leading once a
heartbeat has not succeeded for DEPOSE_AFTER seconds: before any of those bounds can free the lock.

SQLite: one process at a time. An exclusive lock on a file next to the database refuses a second
`run` outright: replicas on one SQLite file would have no election and would race on the
executor's nonce.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import URL

from proposals.errors import Conflict
from proposals.store.engine import describe_database, normalise_url

log = logging.getLogger(__name__)
# pg_try_advisory_lock(bigint): "dstack-gov leader" folded into 63 bits, distinct from the migration locks.
LEADER_LOCK_KEY = 0x6473_7461_636B_4C44  # "dstackLD"
# Seconds without a successful heartbeat after which a leader stops leading (below the server's ~11 s).
DEPOSE_AFTER = 8.0
# libpq and server-side settings that end the lock's session soon after its holder is gone.
_CLIENT_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
                      "tcp_user_timeout": 9000, "connect_timeout": 5}  # fmt: skip
_SERVER_OPTIONS = ("-c idle_session_timeout=10000 -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                   "-c tcp_keepalives_count=3")  # fmt: skip
_HOLDS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND classid = %s AND objid = %s"  # noqa: E501
_LEADER = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
)


class LeaderLock(Protocol):
    """What a replica campaigns with: `elects` is False when there is nobody to elect against (SQLite)."""

    elects: bool
    # Seconds without a confirmed heartbeat after which the holder must stop leading.
    depose_after: float

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return True while this process holds it."""

    def heartbeat(self) -> bool:
        """Return True when this process still holds the lock (False once its session is gone)."""

    def release(self) -> None:
        """Give the lock up and close its connection."""


def _key_parts() -> tuple[int, int]:
    # pg_locks shows a bigint advisory key as two 32-bit halves: classid (high), objid (low).
    return LEADER_LOCK_KEY >> 32, LEADER_LOCK_KEY & 0xFFFF_FFFF


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgLeaderLock:
    """The session-level advisory lock that makes one replica the leader (PostgreSQL)."""

    elects = True
    depose_after = DEPOSE_AFTER

    def __init__(self, url: URL, *, label: str) -> None:
        self._url = url
        self._label = label[:63]  # application_name: `who leads` is one query away (see current_leader)
        self._connection: Any = None
        self.held = False

    def _connect(self) -> Any:
        import psycopg  # the PostgreSQL driver, only when PostgreSQL is used
        from psycopg.conninfo import make_conninfo

        if self._connection is None or self._connection.closed:
            conninfo = make_conninfo(_conninfo(self._url), application_name=self._label, options=_SERVER_OPTIONS,
                                     **_CLIENT_KEEPALIVES)  # fmt: skip
            self._connection = psycopg.connect(conninfo, autocommit=True)
        return self._connection

    def _drop(self, why: str) -> None:
        log.warning("leader lock: %s", why)
        self.held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # closing a broken connection: nothing left to do
                log.debug("leader lock: closing the broken connection failed", exc_info=True)

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return True while this process holds it."""
        import psycopg

        try:
            row = self._connect().execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
        except psycopg.Error as exc:
            self._drop(f"cannot reach {describe_database(self._url)} ({type(exc).__name__})")
            return False
        self.held = bool(row and row[0])
        return self.held

    def heartbeat(self) -> bool:
        """Return True when this process still holds the lock (False once its session is gone)."""
        import psycopg

        if not self.held or self._connection is None:
            return False
        try:
            row = self._connection.execute(_HOLDS, _key_parts()).fetchone()
        except psycopg.Error as exc:
            self._drop(f"lost the connection to {describe_database(self._url)} ({type(exc).__name__})")
            return False
        self.held = bool(row and row[0])
        return self.held

    def release(self) -> None:
        """Give the lock up and close its connection."""
        connection, self._connection = self._connection, None
        self.held = False
        if connection is None:
            return
        try:
            connection.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK_KEY,))
        except Exception:  # the session is going away anyway, and with it the lock
            log.debug("leader lock: unlock failed", exc_info=True)
        finally:
            connection.close()


def current_leader(url: str) -> str | None:
    """Return the application_name of the replica that leads on `url`'s database, if one does."""
    import psycopg

    with psycopg.connect(_conninfo(normalise_url(url)), autocommit=True) as connection:
        row = connection.execute(_LEADER, _key_parts()).fetchone()
    return None if row is None else str(row[0])


class SqliteSoleReplica:
    """An exclusive lock on `<database>.run.lock`: the only `run` on a SQLite database leads at once."""

    elects = False
    depose_after = DEPOSE_AFTER

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".run.lock")
        self._fd: int | None = None
        self._database = database

    def acquire(self) -> None:
        """Take the file lock or refuse (Conflict): another process runs on this database."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Conflict(
                f"another dstack-gov run already uses the SQLite database {self._database}: SQLite takes one "
                "replica (use PostgreSQL to run several)"
            ) from None
        self._fd = fd

    def try_acquire(self) -> bool:
        """Return True: the file lock was taken when the process started."""
        return self._fd is not None

    def heartbeat(self) -> bool:
        """Return True: a file lock lasts as long as the process."""
        return self._fd is not None

    def release(self) -> None:
        """Let another process run on the database."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


class InMemory:
    """An in-memory SQLite database belongs to one process: nothing to elect."""

    elects = False
    depose_after = DEPOSE_AFTER

    def try_acquire(self) -> bool:
        """Return True."""
        return True

    def heartbeat(self) -> bool:
        """Return True."""
        return True

    def release(self) -> None:
        """Do nothing."""


def claim_leadership(url: str, *, label: str) -> LeaderLock:
    """Return this process's leader lock for `url`: elected on PostgreSQL; on SQLite, refused (Conflict) if taken."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return PgLeaderLock(parsed, label=label)
    if parsed.database in (None, "", ":memory:"):
        return InMemory()
    sole = SqliteSoleReplica(Path(parsed.database).resolve())
    sole.acquire()
    return sole
