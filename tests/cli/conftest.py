"""CLI fixtures: a clean environment and a direct-mode KMS owned by a dev key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dstack_gov.anvil import Anvil
from tests.helpers.chain import dev_account

OWNER_KEY = "0x" + dev_account(0).key.hex()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's environment and config files out of CLI tests."""
    for name in ("DSTACK_GOV_CONFIG", "DSTACK_GOV_PRIVATE_KEY", "ETH_RPC_URL", "KMS_CONTRACT_ADDR",
                 "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS", "DSTACK_GOV_DATABASE_URL", "PORT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def rpc(anvil: Anvil, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at the session chain through $ETH_RPC_URL."""
    monkeypatch.setenv("ETH_RPC_URL", anvil.url)
    return anvil.url


@pytest.fixture
def owner_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Provide the owner's key through $DSTACK_GOV_PRIVATE_KEY."""
    monkeypatch.setenv("DSTACK_GOV_PRIVATE_KEY", OWNER_KEY)
    return OWNER_KEY
