"""Execute a signed Safe tx with the executor's key (it pays gas; it is never an owner)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import event_signature_to_log_topic
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient

from contracts import Receipt, TransactionReverted, TransactionSender
from proposals.errors import ChainError, humanize_revert, translate_chain_errors
from proposals.models import SafeTxData
from proposals.safe_tx import to_safe_tx

EXECUTION_SUCCESS_TOPIC = event_signature_to_log_topic("ExecutionSuccess(bytes32,uint256)")
EXECUTION_FAILURE_TOPIC = event_signature_to_log_topic("ExecutionFailure(bytes32,uint256)")


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

    def preflight(self, tx: SafeTxData, signatures: bytes) -> None:
        """Simulate execTransaction from the executor; raise ChainError with the decoded reason."""
        call = bytes(HexBytes(to_safe_tx(tx, self.client, signatures).w3_tx._encode_transaction_data()))
        with translate_chain_errors("simulating execTransaction"):
            try:
                self.sender.simulate(tx.safe, call)
            except TransactionReverted as exc:
                raise ChainError(f"execution would revert: {humanize_revert(exc.reason)}") from None

    def execute(self, tx: SafeTxData, signatures: bytes, safe_tx_hash: bytes) -> ExecutionResult:
        """Preflight, send and classify the outcome (a reverted tx leaves the Safe nonce unused)."""
        with self._lock:
            return self._execute(tx, signatures, safe_tx_hash)

    def _execute(self, tx: SafeTxData, signatures: bytes, safe_tx_hash: bytes) -> ExecutionResult:
        self.preflight(tx, signatures)
        call = bytes(HexBytes(to_safe_tx(tx, self.client, signatures).w3_tx._encode_transaction_data()))
        with translate_chain_errors("executing the Safe transaction"):
            try:
                receipt = self.sender.send(tx.safe, call)
            except TransactionReverted as exc:
                if exc.tx_hash is None:
                    raise ChainError(f"execution would revert: {humanize_revert(exc.reason)}") from None
                raw = self.sender.w3.eth.get_transaction_receipt(exc.tx_hash)
                mined = Receipt.from_web3(raw)
                return ExecutionResult(
                    False, bytes(mined.tx_hash), mined.block_number, mined.gas_used,
                    "the execution transaction reverted on chain", nonce_used=False,
                    broadcasts=tuple(bytes(h) for h in self.sender.broadcasts),
                )  # fmt: skip
        outcome = safe_outcome(receipt, tx.safe, safe_tx_hash)
        broadcasts = tuple(bytes(h) for h in self.sender.broadcasts)
        if outcome is False:
            # safeTxGas > 0 lets the Safe swallow a failing inner call: the nonce is used all the same.
            reason = "the Safe reported ExecutionFailure (the inner call failed)"
            return ExecutionResult(False, bytes(receipt.tx_hash), receipt.block_number, receipt.gas_used,
                                   reason, True, broadcasts)  # fmt: skip
        return ExecutionResult(True, bytes(receipt.tx_hash), receipt.block_number, receipt.gas_used,
                               broadcasts=broadcasts)  # fmt: skip
