"""Two-step ownership of both contracts, handed to a Safe that accepts through a real Safe transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from safe_eth.eth import EthereumClient
from web3 import Web3
from web3.contract import Contract

from tests.helpers.calls import (
    ZERO_ADDRESS,
    Emitted,
    calldata,
    emitted,
    policy_changed,
    revert_reason,
    send,
    unauthorized,
)
from tests.helpers.chain import KmsFixture, dev_account
from tests.helpers.safes import SafeOwner, safe_execute

VALUE = bytes(Web3.keccak(text="after the handover"))


def kms_of(kms_setup: KmsFixture) -> tuple[Contract, str]:
    return kms_setup.kms, "addOsImageHash"


def app_of(kms_setup: KmsFixture) -> tuple[Contract, str]:
    return kms_setup.new_app(), "addComposeHash"


TARGETS = [pytest.param(kms_of, id="kms"), pytest.param(app_of, id="app")]
POLICY = {"addOsImageHash": "osImage", "addComposeHash": "composeHash"}


@pytest.mark.parametrize("target", TARGETS)
def test_safe_accepts_ownership_through_a_safe_transaction(
    kms_setup: KmsFixture,
    eth_client: EthereumClient,
    safe_owner: SafeOwner,
    target: Callable[[KmsFixture], tuple[Contract, str]],
) -> None:
    contract, mutator = target(kms_setup)
    w3, owner, safe = kms_setup.w3, kms_setup.sender(), safe_owner.address

    started = send(owner, contract, "transferOwnership", safe)
    assert emitted(w3, started) == [
        Emitted(contract.address, "OwnershipTransferStarted", {"previousOwner": owner.address, "newOwner": safe})
    ]
    # Step one only nominates: the old owner keeps control until the Safe accepts.
    assert contract.functions.owner().call() == owner.address
    assert contract.functions.pendingOwner().call() == safe
    send(owner, contract, mutator, bytes(Web3.keccak(text="before the handover")))
    # Nobody but the nominee may accept, not even the current owner.
    for account in (dev_account(1), kms_setup.owner, *safe_owner.signers):
        assert revert_reason(kms_setup.sender(account), contract, "acceptOwnership") == unauthorized(account.address)

    accepted = safe_execute(safe_owner, eth_client, contract.address, calldata(contract, "acceptOwnership"))
    assert emitted(w3, accepted["logs"], only=[contract.address]) == [
        Emitted(contract.address, "OwnershipTransferred", {"previousOwner": owner.address, "newOwner": safe})
    ]
    assert contract.functions.owner().call() == safe
    assert contract.functions.pendingOwner().call() == ZERO_ADDRESS
    assert revert_reason(owner, contract, mutator, VALUE) == unauthorized(owner.address)
    assert revert_reason(owner, contract, "transferOwnership", owner.address) == unauthorized(owner.address)

    # The Safe now governs: its transactions pass onlyOwner and it is the PolicyChanged actor.
    changed = safe_execute(safe_owner, eth_client, contract.address, calldata(contract, mutator, VALUE))
    policy_logs = [e for e in emitted(w3, changed["logs"], only=[contract.address]) if e.name == "PolicyChanged"]
    assert policy_logs == [policy_changed(contract.address, safe, POLICY[mutator], VALUE, True)]


@pytest.mark.parametrize("target", TARGETS)
def test_transfer_can_be_redirected_before_acceptance(
    kms_setup: KmsFixture,
    eth_client: EthereumClient,
    safe_owner: SafeOwner,
    target: Callable[[KmsFixture], tuple[Contract, str]],
) -> None:
    contract, _ = target(kms_setup)
    owner, wrong = kms_setup.sender(), dev_account(6)
    send(owner, contract, "transferOwnership", wrong.address)
    send(owner, contract, "transferOwnership", safe_owner.address)
    assert revert_reason(kms_setup.sender(wrong), contract, "acceptOwnership") == unauthorized(wrong.address)
    safe_execute(safe_owner, eth_client, contract.address, calldata(contract, "acceptOwnership"))
    assert contract.functions.owner().call() == safe_owner.address
