"""Safe helpers for tests: a Safe that owns something, and running a call through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from safe_eth.eth import EthereumClient
from safe_eth.safe import Safe


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
