"""PostgreSQL for tests: the throwaway cluster from .ci/postgres.sh, and a fresh database per test.

The cluster's URL comes from DSTACK_GOV_TEST_PG_URL. Without it the PostgreSQL tests are skipped,
except when CI is set: there a missing cluster fails, so CI can never skip them silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

PG_URL_ENV = "DSTACK_GOV_TEST_PG_URL"
HOW_TO_START = 'start one with: eval "$(.ci/postgres.sh start)"'


def postgres_url() -> str | None:
    """Return the test cluster's URL, if one is configured."""
    return os.environ.get(PG_URL_ENV) or None


def require_postgres() -> str:
    """Return the test cluster's URL; skip the test without one (fail it under CI)."""
    url = postgres_url()
    if url is not None:
        return url
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set but {PG_URL_ENV} is not: the PostgreSQL tests must run in CI ({HOW_TO_START})")
    pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} ({HOW_TO_START})")


@cache
def _admin_engine(url: str) -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@contextmanager
def fresh_database(url: str, prefix: str = "test") -> Iterator[str]:
    """Create an empty, uniquely named database on the cluster at `url`; yield its URL; drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(url)
    with admin.connect() as connection:
        # template0 with FILE_COPY is the cheapest way to a blank database.
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
