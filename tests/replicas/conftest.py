"""Replica fixtures: a fresh PostgreSQL database (the Safe and the fake Bot API come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.postgres import fresh_database, require_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty database on the throwaway PostgreSQL cluster."""
    with fresh_database(require_postgres(), prefix="replicas") as url:
        yield url
