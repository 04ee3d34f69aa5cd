"""Execute a signed Safe tx with the executor's key (it pays gas; it is never an owner)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from web3 import Web3
from web3.exceptions import TransactionNotFound

from contracts import Receipt, TransactionReverted, TransactionSender
from proposals.errors import ChainError, GovernanceError, humanize_revert, translate_chain_errors
from proposals.events import EXECUTION_FAILURE_TOPIC, EXECUTION_SUCCESS_TOPIC
from proposals.models import SafeTxData, SignedExecution
from proposals.safe_tx import exec_transaction_calldata


@dataclass(frozen=True)
class ExecutionResult:
    """What happened on chain when we executed a Safe tx."""

    success: bool
    tx_hash: bytes
    block_number: int
    gas_used: int
    reason: str = ""
    nonce_used: bool = True
    broadcasts: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Unsettled:
    """A send whose outcome is not known yet: a signed transaction may be on its way or mined."""

    reason: str
    tx_hashes: tuple[bytes, ...]


# Keeps each signed transaction (in the store) before it is broadcast; raising stops the send.
Record = Callable[[SignedExecution], None]


def logged_safe_tx_hash(log: Any) -> bytes:
    """Return the safeTxHash of an ExecutionSuccess/ExecutionFailure log."""
    # Safe 1.4.x indexes txHash (a topic); 1.3.0 puts it first in the data.
    topics = log["topics"]
    return bytes(topics[1]) if len(topics) > 1 else bytes(log["data"])[:32]


def safe_outcome(receipt: Receipt, safe: ChecksumAddress, safe_tx_hash: bytes) -> bool | None:
    """Return True/False from the Safe's ExecutionSuccess/ExecutionFailure event for `safe_tx_hash`, else None."""
    for log in receipt.logs:
        if str(log["address"]).lower() != safe.lower() or not log["topics"]:
            continue
        topic = bytes(log["topics"][0])
        if logged_safe_tx_hash(log) != safe_tx_hash:
            continue
        if topic == EXECUTION_SUCCESS_TOPIC:
            return True
        if topic == EXECUTION_FAILURE_TOPIC:
            return False
    return None


def execution_result(
    receipt: Receipt, safe: ChecksumAddress, safe_tx_hash: bytes, broadcasts: Sequence[bytes] = ()
) -> ExecutionResult:
    """Classify a mined execTransaction: reverted (nonce unused), ExecutionFailure (nonce used) or success."""
    sent = tuple(bytes(h) for h in broadcasts)
    mined = (bytes(receipt.tx_hash), receipt.block_number, receipt.gas_used)
    if receipt.status != 1:
        return ExecutionResult(False, *mined, "the execution transaction reverted on chain", False, sent)
    if safe_outcome(receipt, safe, safe_tx_hash) is False:
        # safeTxGas > 0 lets the Safe swallow a failing inner call: the nonce is used all the same.
        return ExecutionResult(False, *mined, "the Safe reported ExecutionFailure (the inner call failed)", True, sent)
    return ExecutionResult(True, *mined, broadcasts=sent)


def find_receipt(w3: Web3, tx_hashes: Sequence[bytes]) -> Receipt | None:
    """Return the receipt of whichever of `tx_hashes` was mined (fee bumps share a nonce: at most one is)."""
    for tx_hash in reversed(tx_hashes):
        try:
            raw = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            continue
        if raw is not None:
            return Receipt.from_web3(raw)
    return None


def known_to_node(w3: Web3, tx_hash: bytes) -> bool:
    """Return True when the node has the transaction (pending or mined)."""
    try:
        return w3.eth.get_transaction(HexBytes(tx_hash)) is not None
    except TransactionNotFound:
        return False


class Executor:
    """Sends execTransaction for fully signed proposals."""

    def __init__(self, sender: TransactionSender, client: EthereumClient) -> None:
        self.sender = sender
        self.client = client
        # One account nonce: executions from several threads of one process go one at a time.
        self._lock = threading.Lock()

    @property
    def address(self) -> ChecksumAddress:
        """Return the executor's address (it pays gas)."""
        return self.sender.address

    def execute(
        self, tx: SafeTxData, signatures: bytes, safe_tx_hash: bytes, record: Record | None = None
    ) -> ExecutionResult | Unsettled:
        """Simulate once, sign (handing each signed tx to `record` first), send and classify the outcome.

        A send that fails after signing is looked up by its hash before it counts as failed: mined
        gives its result, known to the node (or the node unreachable) gives Unsettled.
        """
        with self._lock:
            return self._execute(tx, signatures, safe_tx_hash, record)

    def _execute(
        self, tx: SafeTxData, signatures: bytes, safe_tx_hash: bytes, record: Record | None
    ) -> ExecutionResult | Unsettled:
        call = exec_transaction_calldata(self.client.w3, tx, signatures)
        signed: list[bytes] = []

        def keep(tx_hash: HexBytes, raw: bytes, nonce: int) -> None:
            if record is not None:
                record(SignedExecution(bytes(tx_hash), raw, self.address, nonce))
            signed.append(bytes(tx_hash))

        try:
            receipt = self._send(tx.safe, call, keep)
        except GovernanceError as exc:
            if not signed:
                raise
            return self._look_for_sent(tx.safe, safe_tx_hash, signed, exc)
        return execution_result(receipt, tx.safe, safe_tx_hash, self.sender.broadcasts)

    def _send(self, safe: ChecksumAddress, call: bytes, keep: Callable[[HexBytes, bytes, int], None]) -> Receipt:
        with translate_chain_errors("executing the Safe transaction"):
            try:
                return self.sender.send(safe, call, on_signed=keep)
            except TransactionReverted as exc:
                if exc.tx_hash is None:
                    raise ChainError(f"execution would revert: {humanize_revert(exc.reason)}") from None
                # Mined with status 0 (e.g. GS013): execution_result reads it as "nonce unused".
                return Receipt.from_web3(self.sender.w3.eth.get_transaction_receipt(exc.tx_hash))

    def _look_for_sent(
        self, safe: ChecksumAddress, safe_tx_hash: bytes, signed: list[bytes], error: GovernanceError
    ) -> ExecutionResult | Unsettled:
        """The send failed after signing; the node may have taken it all the same (e.g. its reply was lost)."""
        w3 = self.sender.w3
        try:
            with translate_chain_errors("looking for the sent execution"):
                receipt = find_receipt(w3, signed)
                if receipt is not None:
                    return execution_result(receipt, safe, safe_tx_hash, signed)
                sent = any(known_to_node(w3, tx_hash) for tx_hash in signed)
        except GovernanceError:
            sent = True  # the node cannot say: the transaction may be out there
        if not sent:
            raise error
        return Unsettled(f"sent; outcome unknown: {error.message}", tuple(signed))
