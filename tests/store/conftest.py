"""Every store test runs twice: on a SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from proposals.store import SqlStore, open_store
from tests.helpers.postgres import fresh_database, require_postgres
from tests.store.factories import Clock

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_database(require_postgres()) as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    """Return the hand-moved clock the store is opened with."""
    return Clock()


@pytest.fixture
def open_at(db_url: str, clock: Clock) -> Iterator[Callable[[], SqlStore]]:
    """Return a function opening another store on the test's database (another replica, or a restart)."""
    opened: list[SqlStore] = []

    def open_one() -> SqlStore:
        opened.append(open_store(db_url, clock=clock))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_at: Callable[[], SqlStore]) -> SqlStore:
    """Return a store on the test's empty database."""
    return open_at()
