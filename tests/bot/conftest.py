"""Bot fixtures: a governed Safe on anvil and the loopback fake Bot API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance, build_governance


@pytest.fixture
def gov(w3, eth_client, safe_infra, tmp_path) -> Governance:
    """A 2-of-3 Safe owning a fresh KMS and app, a SQLite store and an executor key."""
    return build_governance(w3, eth_client, safe_infra, tmp_path)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on a free loopback port."""
    with FakeTelegram() as fake:
        yield fake
