"""Shared fixtures: one anvil chain (isolated per test by evm_snapshot/evm_revert), a governed Safe, a fake Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from safe_eth.eth import EthereumClient
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.safe_infra import SafeInfra, deploy_safe_infra
from tests.helpers.chain import KmsFixture, deploy_kms_fixture, dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.fake_tx_service import FakeTxService
from tests.helpers.governance import Governance, build_governance


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """Start one anvil for the whole session (chain id 1337, automine)."""
    node = Anvil(free_port()).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    """Return a web3 client on the session chain."""
    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="session")
def eth_client(anvil: Anvil) -> EthereumClient:
    """Return a safe-eth-py client on the session chain."""
    return EthereumClient(anvil.url)


@pytest.fixture(scope="session")
def safe_infra(eth_client: EthereumClient) -> SafeInfra:
    """Deploy the Safe contracts once per session (before any snapshot)."""
    return deploy_safe_infra(eth_client, dev_account(0))


@pytest.fixture(autouse=True)
def chain_snapshot(request: pytest.FixtureRequest) -> Iterator[None]:
    """Revert the session chain after every test that touched it."""
    if "w3" not in request.fixturenames and "anvil" not in request.fixturenames:
        yield
        return
    w3: Web3 = request.getfixturevalue("w3")
    # Session-scoped deployments must happen before the first snapshot, or a revert would erase them.
    request.getfixturevalue("safe_infra")
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield
    finally:
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def kms_setup(w3: Web3) -> KmsFixture:
    """A fresh DstackKms (owned by dev account 0) with its app implementation."""
    return deploy_kms_fixture(w3, dev_account(0))


@pytest.fixture
def gov(w3: Web3, eth_client: EthereumClient, safe_infra: SafeInfra, tmp_path: Path) -> Governance:
    """A 2-of-3 Safe owning a fresh KMS and app, a SQLite store and an executor key (dev account 9)."""
    return build_governance(w3, eth_client, safe_infra, tmp_path)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on a free loopback port."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake(eth_client: EthereumClient) -> Iterator[FakeTxService]:
    """The stand-in Safe Transaction Service on 127.0.0.1."""
    with FakeTxService(eth_client) as service:
        yield service
