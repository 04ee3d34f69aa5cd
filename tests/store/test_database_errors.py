"""A database that is locked, broken or unreachable is an Unavailable naming it (never its password)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from proposals.errors import InvalidInput, NotFound, Unavailable
from proposals.models import MAX_ID
from proposals.store import open_store
from proposals.store.engine import BUSY_RETRY_AFTER, lock_wait, make_engine


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_postgresql_is_named_without_its_password():
    url = f"postgresql://gov:s3cret-pw@127.0.0.1:{_closed_port()}/dstack_gov"
    with pytest.raises(Unavailable) as caught:
        open_store(url)
    message = caught.value.message
    assert message.startswith("the database postgresql+psycopg://gov:***@127.0.0.1:")
    assert "/dstack_gov is unavailable: " in message
    assert "s3cret-pw" not in message and "\n" not in message


def test_a_locked_sqlite_database_fails_after_the_wait_asked_for(tmp_path: Path):
    path = tmp_path / "locked.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        store.set_cursor("before", 1)
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with lock_wait(0.2), pytest.raises(Unavailable) as caught:
                store.set_cursor("during", 2)
            assert store.get_cursor("before") == 1  # readers are not blocked (WAL)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert caught.value.message == f"the database {path} is busy (locked by another process); try again shortly"
        assert caught.value.retry_after == BUSY_RETRY_AFTER
        store.set_cursor("after", 3)  # the pooled connection is back on the default wait, and works
        assert store.get_cursor("after") == 3


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"\x00junk" * 1000)
    with pytest.raises(Unavailable) as corrupt:
        open_store(f"sqlite:///{path}")
    assert corrupt.value.message == f"the database {path} cannot be used: file is not a database"
    missing = tmp_path / "missing-dir" / "x.sqlite"
    engine = make_engine(f"sqlite:///{missing}")
    try:
        with pytest.raises(Unavailable) as unopenable:
            engine.connect()
    finally:
        engine.dispose()
    assert unopenable.value.message == f"the database {missing} is unavailable: unable to open database file"


def test_numbers_past_64_bits_are_invalid_input_not_a_crash(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        with pytest.raises(NotFound):
            store.get(MAX_ID)
        with pytest.raises(InvalidInput, match="out of the database's range"):
            store.get(MAX_ID + 1)
        with pytest.raises(InvalidInput, match="out of the database's range"):
            store.list_proposals(nonce=2**64)
