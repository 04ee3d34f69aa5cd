"""Replica fixtures: a governed Safe on anvil, the fake Bot API, and a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance, build_governance
from tests.helpers.postgres import fresh_database, require_postgres


@pytest.fixture
def gov(w3, eth_client, safe_infra, tmp_path) -> Governance:
    """A 2-of-3 Safe owning a fresh KMS and app, and an executor key."""
    return build_governance(w3, eth_client, safe_infra, tmp_path)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on a free loopback port."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty database on the throwaway PostgreSQL cluster."""
    with fresh_database(require_postgres(), prefix="replicas") as url:
        yield url
