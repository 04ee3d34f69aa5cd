"""Fixtures for the contract tests: Safes that own our contracts, 1-of-1 and 2-of-3."""

from __future__ import annotations

import pytest
from safe_eth.eth import EthereumClient

from dstack_gov.safe_infra import SafeInfra, create_safe
from tests.helpers.chain import dev_account
from tests.helpers.safes import SafeOwner


@pytest.fixture(params=[(1, 1), (2, 3)], ids=["1-of-1", "2-of-3"])
def safe_owner(request: pytest.FixtureRequest, eth_client: EthereumClient, safe_infra: SafeInfra) -> SafeOwner:
    """Create a Safe owned by dev accounts 2.. (threshold-of-count); it signs with the last `threshold`."""
    threshold, count = request.param
    owners = [dev_account(2 + i) for i in range(count)]
    address = create_safe(eth_client, dev_account(0), safe_infra, [o.address for o in owners], threshold)
    return SafeOwner(address, tuple(owners[-threshold:]), dev_account(8))
