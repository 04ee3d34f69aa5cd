"""Safe helpers for tests: a Safe that owns something, another governed Safe, and running a call through one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from safe_eth.eth import EthereumClient
from safe_eth.safe import Safe

from contracts import AppSettings, TransactionSender, deploy_app
from dstack_gov.safe_infra import create_safe
from proposals.catalogue import get_action
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance


@dataclass(frozen=True)
class SafeOwner:
    """A Safe, the owners whose signatures meet its threshold, and a non-owner that pays the gas."""

    address: ChecksumAddress
    signers: tuple[LocalAccount, ...]
    executor: LocalAccount


def safe_execute(safe: SafeOwner, eth_client: EthereumClient, to: ChecksumAddress, data: bytes) -> Any:
    """Have the Safe call `to` with `data`: build the Safe tx, sign it with its signers, execute it."""
    return safe_execute_with(eth_client, safe.address, safe.signers, safe.executor, to, data)


def safe_execute_with(
    eth_client: EthereumClient,
    safe_address: ChecksumAddress,
    signers: Sequence[LocalAccount],
    executor: LocalAccount,
    to: ChecksumAddress,
    data: bytes,
) -> Any:
    """Run one Safe transaction signed by `signers` and paid for by `executor`; return its receipt."""
    safe_tx = Safe(safe_address, eth_client).build_multisig_tx(to, 0, data)  # type: ignore[abstract]
    for signer in signers:
        safe_tx.sign("0x" + bytes(signer.key).hex())
    tx_hash, _ = safe_tx.execute(tx_sender_private_key="0x" + bytes(executor.key).hex())
    receipt = eth_client.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    # With safeTxGas = 0 a failing inner call reverts the whole Safe transaction (GS013).
    assert receipt["status"] == 1, "the Safe transaction reverted"
    return receipt


@dataclass(frozen=True)
class AppSafe:
    """Another governed Safe (its own owners) and the app it owns, registered on the governed KMS."""

    address: ChecksumAddress
    owners: tuple[LocalAccount, ...]
    threshold: int
    app: ChecksumAddress


def add_app_safe(gov: Governance, owner_indexes: Sequence[int] = (4, 5, 6), threshold: int = 2) -> AppSafe:
    """Deploy a Safe of dev accounts `owner_indexes` owning a new app registered on gov's KMS."""
    deployer = dev_account(0)
    owners = tuple(dev_account(i) for i in owner_indexes)
    safe = create_safe(gov.client, deployer, gov.infra, [o.address for o in owners], threshold)
    sender = TransactionSender(gov.w3, deployer)
    app = deploy_app(sender, gov.app_implementation, AppSettings(owner=safe)).proxy
    sender.send(gov.kms_address, get_action("kms-register-app").encode({"appId": app}))
    return AppSafe(safe, owners, threshold, app)
