"""Recovery: settle executions left `executing` from what the chain says, and retry failed ones that can run.

An executing claim with no signed transaction recorded was never sent: it is released at once (no
timeout). One with signed transactions is looked up by their hashes: mined gives the result; still
known to the node means waiting; dropped is rebroadcast from the recorded raw bytes; refused (the
executor's nonce went to something else) is released for a fresh attempt. A Safe nonce used by
another transaction supersedes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from proposals.errors import ChainError, GovernanceError, translate_chain_errors
from proposals.execution import execution_result, find_receipt, known_to_node
from proposals.finality import Finality, settle_confirming
from proposals.models import Proposal, ProposalState, SignedExecution
from proposals.safe_tx import SafeState, safe_tx_hashes
from proposals.signatures import recheck

if TYPE_CHECKING:
    from proposals.reconcile import ReconcileReport
    from proposals.service import GovernanceService

ACTOR = "reconcile"
FAILED_EVENT = f"state:{ProposalState.EXECUTING.value}->{ProposalState.FAILED.value}"
WAITING = "sent; waiting to be mined"
REBROADCAST = "sent; the node had dropped it, so it was broadcast again"


class Recovery:
    """Settles one Safe's executing claims and retries its failed execution, recording into `report`."""

    def __init__(
        self, service: GovernanceService, report: ReconcileReport, nonce_used: Callable[[Proposal], None]
    ) -> None:
        self.service = service
        self.store = service.store
        self.lifecycle = service.lifecycle
        self.w3 = service.w3
        self.report = report
        self._nonce_used = nonce_used

    def settle_executing(self, proposal: Proposal, state: SafeState) -> None:
        """Settle an `executing` proposal no thread of this process is sending."""
        if proposal.execution_claim is not None and proposal.execution_claim in self.service.in_flight_claims:
            return
        if proposal.confirming:
            if settle_confirming(self.service, proposal) is not Finality.DROPPED:
                return
            proposal = self.store.get(proposal.id)  # a reorg dropped it: settle the send as unmined
        signed = self.store.signed_executions(proposal.id)
        if not signed:
            reason = "the execution stopped before anything was sent"
            if self.store.release_unsent(proposal.id, proposal.execution_claim, actor=ACTOR, reason=reason):
                self.report.released.append(proposal.id)
                self.lifecycle.notify(proposal.id, ProposalState.APPROVED.value)
            return
        hashes = [s.tx_hash for s in signed]
        with translate_chain_errors("looking for the sent execution"):
            receipt = find_receipt(self.w3, hashes)
            pending = receipt is None and any(known_to_node(self.w3, tx_hash) for tx_hash in hashes)
        if receipt is not None:
            result = execution_result(receipt, proposal.safe, proposal.safe_tx_hash, hashes)
            self.service.record_execution(proposal, result, ACTOR)
            (self.report.executed if result.success else self.report.failed).append(proposal.id)
        elif proposal.nonce < state.nonce:
            self._nonce_used(proposal)
        elif pending:
            self._note(proposal, WAITING)
        else:
            self._rebroadcast(proposal, signed[-1])

    def _rebroadcast(self, proposal: Proposal, latest: SignedExecution) -> None:
        """Send the recorded raw transaction again; if the node refuses it, release the claim for a fresh one."""
        try:
            with translate_chain_errors("broadcasting the recorded execution again"):
                self._broadcast(latest.raw)
        except ChainError as exc:
            if "already known" in exc.message.lower():
                self._note(proposal, WAITING)
                return
            reason = f"the sent transaction was dropped and cannot be sent again ({exc.message}); will retry"
            self.lifecycle.move(proposal, ProposalState.APPROVED, ACTOR, {"reason": reason},
                                execution_claim=None)  # fmt: skip
            self.report.released.append(proposal.id)
            return
        self.report.rebroadcast.append(proposal.id)
        self._note(proposal, REBROADCAST)

    def _broadcast(self, raw: bytes) -> None:
        executor = self.service.executor
        if executor is not None:
            executor.sender.broadcast(raw)
        else:
            self.w3.eth.send_raw_transaction(raw)

    def _note(self, proposal: Proposal, reason: str) -> None:
        if proposal.failure_reason == reason:
            return  # said already: no audit entry per pass
        if self.store.note_execution(proposal.id, proposal.execution_claim, actor=ACTOR, reason=reason) is not None:
            self.lifecycle.notify(proposal.id, "execution-waiting")

    def retry_failed(self, state: SafeState, attempts: int) -> None:
        """Execute again a failed proposal at the Safe's nonce that still has quorum (at most `attempts` retries)."""
        if self.service.executor is None:
            return
        failed = self.store.list_proposals(safe=state.address, nonce=state.nonce, states=[ProposalState.FAILED])
        for proposal in failed:
            if self._failures(proposal.id) > attempts or not self._has_quorum(proposal, state):
                continue
            try:
                done = self.service.execute(proposal.id, actor=f"{ACTOR}:retry")
            except GovernanceError as exc:
                self.report.errors.append(f"retrying proposal #{proposal.id}: {exc.message}")
                continue
            self.report.retried.append(proposal.id)
            if done.state is ProposalState.EXECUTED:
                self.report.executed.append(proposal.id)

    def _failures(self, proposal_id: int) -> int:
        return sum(1 for entry in self.store.audit(proposal_id=proposal_id) if entry.event == FAILED_EVENT)

    def _has_quorum(self, proposal: Proposal, state: SafeState) -> bool:
        """Re-check the stored signatures against the Safe's current owners and threshold."""
        checked = recheck(
            self.service.client, state, safe_tx_hashes(proposal.safe_tx), self.store.signatures(proposal.id)
        )
        return len(checked.valid) >= state.threshold
