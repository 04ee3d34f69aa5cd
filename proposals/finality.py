"""Finality: an execution counts once `confirmations` blocks hold it; one a reorg drops is sent again.

With confirmations = 1 an execution is final in the block that mines it, and nothing here runs. With
more, a mined execution leaves the proposal `executing` with its transaction and block set (every
front end shows "executed, confirming"), and each reconciliation pass reads its receipt again:

- in a block at least `confirmations` deep: the execution is recorded as final (executed);
- in a block not yet that deep (maybe another block, mined again after a reorg): it keeps waiting;
- gone (a reorg dropped the block, and the transaction with it): the hash and block are cleared and
  the claim is settled like any unmined send (recovery.py): waited for while the node still has it,
  broadcast again from the recorded bytes, or released to approved and executed afresh. Either way
  the Safe's nonce lets it execute once.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from contracts import Receipt
from proposals.errors import translate_chain_errors
from proposals.execution import ExecutionResult, execution_result
from proposals.models import Proposal, ProposalState

if TYPE_CHECKING:
    from proposals.service import GovernanceService

ACTOR = "reconcile"


class Finality(enum.Enum):
    """What a confirming proposal's receipt says now."""

    FINAL = "final"
    WAITING = "waiting"
    DROPPED = "dropped"


def deep_enough(service: GovernanceService, block_number: int) -> bool:
    """Return True once `block_number` is `confirmations` blocks deep (always, with confirmations = 1)."""
    needed = service.settings.confirmations
    if needed <= 1:
        return True  # no extra round trip on the default path
    with translate_chain_errors("reading the block height"):
        latest = int(service.w3.eth.block_number)
    return latest - block_number + 1 >= needed


def hold(service: GovernanceService, proposal: Proposal, result: ExecutionResult, actor: str) -> Proposal:
    """Keep a mined execution that is not final yet: `executing`, with its transaction and block shown."""
    mined = (bytes(result.tx_hash), result.block_number, result.gas_used)
    detail = {"txHash": "0x" + mined[0].hex(), "block": mined[1], "confirmations": service.settings.confirmations}
    if proposal.state is not ProposalState.EXECUTING:  # executed by someone else while approved (or failed)
        return service.lifecycle.move(
            proposal, ProposalState.EXECUTING, actor, detail, execution_claim=None, failure_reason=None,
            execution_tx_hash=mined[0], execution_block=mined[1], execution_gas=mined[2],
        )  # fmt: skip
    held = service.store.note_mined(proposal.id, mined, actor=actor, detail=detail)
    if held is None:  # moved on meanwhile (another replica settled it)
        return service.store.get(proposal.id)
    service.lifecycle.notify(proposal.id, "execution-confirming")
    return held


def settle_confirming(service: GovernanceService, proposal: Proposal) -> Finality:
    """Finalise a confirming proposal once deep enough; clear its execution if a reorg dropped it."""
    assert proposal.execution_tx_hash is not None and proposal.execution_block is not None
    with translate_chain_errors("reading the execution receipt"):
        try:
            raw = service.w3.eth.get_transaction_receipt(HexBytes(proposal.execution_tx_hash))
        except TransactionNotFound:
            raw = None
    if raw is None:
        detail = {"txHash": "0x" + bytes(proposal.execution_tx_hash).hex(), "block": proposal.execution_block}
        if service.store.note_mined(proposal.id, None, actor=ACTOR, detail=detail) is not None:
            service.lifecycle.notify(proposal.id, "execution-reorged")
        return Finality.DROPPED
    receipt = Receipt.from_web3(raw)
    result = execution_result(receipt, proposal.safe, proposal.safe_tx_hash, (receipt.tx_hash,))
    if result.success and not deep_enough(service, receipt.block_number):
        if receipt.block_number != proposal.execution_block:  # mined again in another block after a reorg
            hold(service, proposal, result, ACTOR)
        return Finality.WAITING
    service.record_execution(proposal, result, ACTOR)
    return Finality.FINAL
