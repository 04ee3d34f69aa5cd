"""Reconciliation: bring the store in line with the chain (for the scheduler, cron, and restarts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3

from contracts import Receipt
from proposals.chain import block_ranges
from proposals.errors import translate_chain_errors
from proposals.events import safe_topic
from proposals.execution import ExecutionResult, logged_safe_tx_hash
from proposals.models import (
    OPEN_STATES,
    TERMINAL_STATES,
    NewSignature,
    Proposal,
    ProposalKind,
    ProposalState,
    SignatureKind,
)
from proposals.recovery import Recovery
from proposals.safe_tx import SafeState, read_safe_state, safe_tx_hashes
from proposals.signatures import approved_hash_signature, recheck

if TYPE_CHECKING:
    from proposals.service import GovernanceService

_TOPICS = {
    safe_topic(event): kind
    for event, kind in (
        ("ExecutionSuccess", "success"),
        ("ExecutionFailure", "failure"),
        ("ApproveHash", "approve"),
        ("AddedOwner", "owners"),
        ("RemovedOwner", "owners"),
        ("ChangedThreshold", "owners"),
    )
}


@dataclass
class ReconcileReport:
    """What one pass found and changed."""

    executed_elsewhere: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    approvals: list[tuple[int, str]] = field(default_factory=list)
    dropped_signatures: list[tuple[int, str]] = field(default_factory=list)
    owner_changes: list[str] = field(default_factory=list)
    executed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    rebroadcast: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {k: list(v) for k, v in self.__dict__.items()}


class Reconciler:
    """One reconciliation pass over every known Safe."""

    def __init__(self, service: GovernanceService) -> None:
        self.service = service
        self.store = service.store
        self.lifecycle = service.lifecycle
        self.w3 = service.w3
        self.report = ReconcileReport()
        self.recovery = Recovery(service, self.report, self._nonce_used)

    def run(self) -> ReconcileReport:
        """Reconcile every Safe, then expire overdue proposals."""
        self._each_safe(self.reconcile_safe)
        self.report.expired = [p.id for p in self.service.expire()]
        return self.report

    def retry_executions(self, attempts: int | None = None) -> ReconcileReport:
        """Settle executions left executing and retry failed ones that can run, without scanning events."""
        tries = self.service.settings.retry_attempts if attempts is None else attempts
        self._each_safe(lambda safe: self._settle_executions(read_safe_state(self.w3, safe), tries))
        return self.report

    def _each_safe(self, step: Callable[[ChecksumAddress], None]) -> None:
        for safe in self.service.safes:
            try:
                step(safe)
            except Exception as exc:  # noqa: BLE001 - one Safe's failure must not stop the others
                message = getattr(exc, "message", None) or type(exc).__name__
                self.report.errors.append(f"{safe}: {message}")

    def reconcile_safe(self, safe: ChecksumAddress) -> None:
        """Apply the Safe's events since the last pass, then settle its open proposals."""
        state = read_safe_state(self.w3, safe)
        self._scan_events(safe, state)
        self._settle_open(state)

    # -- events --------------------------------------------------------------------------

    def _scan_events(self, safe: ChecksumAddress, state: SafeState) -> None:
        settings = self.service.settings
        cursor_name = f"safe-events:{safe}"
        with translate_chain_errors("reading Safe events"):
            latest = int(self.w3.eth.block_number)
        cursor = self.store.get_cursor(cursor_name)
        first = cursor + 1 if cursor is not None else max(0, latest - settings.log_lookback_blocks)
        for start, end in block_ranges(first, latest, settings.log_chunk_blocks):
            with translate_chain_errors("reading Safe events"):
                logs = self.w3.eth.get_logs(
                    {"address": safe, "fromBlock": start, "toBlock": end, "topics": [[HexBytes(t) for t in _TOPICS]]}
                )
            for log in sorted(logs, key=lambda entry: (entry["blockNumber"], entry["logIndex"])):
                self._apply(log, state)
            # The cursor moves only after a chunk is fully applied: a crash re-reads, never skips.
            self.store.set_cursor(cursor_name, end)

    def _apply(self, log: Any, state: SafeState) -> None:
        kind = _TOPICS.get(bytes(log["topics"][0]))
        if kind in ("success", "failure"):
            self._apply_execution(log, kind == "success")
        elif kind == "approve":
            self._apply_approval(
                bytes(log["topics"][1]), Web3.to_checksum_address(bytes(log["topics"][2])[-20:]), state
            )
        elif kind == "owners":
            self.report.owner_changes.append(f"{state.address} block {log['blockNumber']}")
            self.store.record(None, actor="chain", event="safe-owners-changed",
                              detail={"safe": state.address, "block": int(log["blockNumber"]),
                                      "owners": list(state.owners), "threshold": state.threshold})  # fmt: skip

    def _apply_execution(self, log: Any, success: bool) -> None:
        proposal = self.store.find_by_hash(logged_safe_tx_hash(log))
        if proposal is None or proposal.state in (ProposalState.EXECUTED, ProposalState.CANCELLED):
            return
        if proposal.state is ProposalState.FAILED and not success and proposal.execution_tx_hash:
            return  # already recorded
        with translate_chain_errors("reading the execution receipt"):
            receipt = Receipt.from_web3(self.w3.eth.get_transaction_receipt(log["transactionHash"]))
        if proposal.state in TERMINAL_STATES:
            # Executed after we had written it off (e.g. expired): the chain is the truth.
            self.store.record(proposal.id, actor="chain", event="executed-after-end",
                              detail={"txHash": "0x" + bytes(receipt.tx_hash).hex(), "success": success})  # fmt: skip
            return
        reason = "" if success else "the Safe reported ExecutionFailure (the inner call failed)"
        result = ExecutionResult(success, bytes(receipt.tx_hash), receipt.block_number, receipt.gas_used, reason)
        if proposal.state is ProposalState.PENDING and success:
            proposal = self.store.transition(
                proposal.id, ProposalState.APPROVED, actor="chain", expected=[ProposalState.PENDING],
                detail={"executedElsewhere": True},
            )  # fmt: skip
        self.service.record_execution(proposal, result, "chain")
        (self.report.executed_elsewhere if success else self.report.failed).append(proposal.id)

    def _apply_approval(self, safe_tx_hash: bytes, owner: ChecksumAddress, state: SafeState) -> None:
        proposal = self.store.find_by_hash(safe_tx_hash)
        if proposal is None or proposal.state not in OPEN_STATES or proposal.state is ProposalState.EXECUTING:
            return
        if not state.is_owner(owner):
            return
        if any(s.owner.lower() == owner.lower() for s in self.store.signatures(proposal.id)):
            return
        standalone = approved_hash_signature(owner, safe_tx_hash)
        self.store.add_signature(
            NewSignature(proposal.id, owner, SignatureKind.APPROVED_HASH, standalone, "chain:approveHash"),
            actor="chain",
        )
        self.report.approvals.append((proposal.id, owner))
        self.lifecycle.notify(proposal.id, "signature")

    # -- open proposals ------------------------------------------------------------------

    def _settle_open(self, state: SafeState) -> None:
        for proposal in self.store.list_proposals(safe=state.address, states=OPEN_STATES, limit=10_000):
            if proposal.state is ProposalState.EXECUTING:
                continue  # settled below, from its recorded transactions
            if proposal.nonce < state.nonce:
                self._nonce_used(proposal)
                continue
            self._recheck_signatures(proposal, state)
        self._settle_executions(state, self.service.settings.retry_attempts)

    def _settle_executions(self, state: SafeState, attempts: int) -> None:
        """Settle executing claims, execute what is approved at the Safe's nonce, retry what failed there."""
        executing = [ProposalState.EXECUTING]
        for proposal in self.store.list_proposals(safe=state.address, states=executing, limit=10_000):
            self.recovery.settle_executing(proposal, state)
        for proposal in self.store.list_proposals(safe=state.address, states=[ProposalState.APPROVED], limit=100):
            if proposal.nonce == state.nonce and self.service.executor is not None:
                _, error = self.service.after_signature(proposal.id, state)
                if error is None and self.store.get(proposal.id).state is ProposalState.EXECUTED:
                    self.report.executed.append(proposal.id)
        self.recovery.retry_failed(state, attempts)

    def _nonce_used(self, proposal: Proposal) -> None:
        """The Safe moved past this proposal's nonce without executing it."""
        rejected_by = [
            p for p in self.store.list_proposals(safe=proposal.safe, nonce=proposal.nonce)
            if p.kind is ProposalKind.REJECTION and p.rejects == proposal.id and p.state is ProposalState.EXECUTED
        ]  # fmt: skip
        if rejected_by:
            self.lifecycle.end(proposal.id, ProposalState.CANCELLED, "chain", {"rejectedBy": rejected_by[0].id})
            self.report.cancelled.append(proposal.id)
            return
        if (
            proposal.state is ProposalState.FAILED
            and proposal.execution_tx_hash
            and self._own_failure_used_nonce(proposal)
        ):
            return  # its own execution used the nonce (ExecutionFailure); it stays failed
        self.lifecycle.end(proposal.id, ProposalState.SUPERSEDED, "chain",
                           {"reason": f"nonce {proposal.nonce} was used by another transaction"})  # fmt: skip
        self.report.superseded.append(proposal.id)

    def _own_failure_used_nonce(self, proposal: Proposal) -> bool:
        """A mined execTransaction with status 1 consumed the nonce; a reverted one (GS013) did not."""
        assert proposal.execution_tx_hash is not None
        with translate_chain_errors("reading the execution receipt"):
            receipt = self.w3.eth.get_transaction_receipt(HexBytes(proposal.execution_tx_hash))
        return int(receipt["status"]) == 1

    def _recheck_signatures(self, proposal: Proposal, state: SafeState) -> None:
        stored = self.store.signatures(proposal.id)
        checked = recheck(self.service.client, state, safe_tx_hashes(proposal.safe_tx), stored)
        for sig, reason in checked.dropped:
            self.store.remove_signature(proposal.id, sig.owner, actor="reconcile", reason=reason)
            self.report.dropped_signatures.append((proposal.id, sig.owner))
            self.lifecycle.notify(proposal.id, "signature-dropped")
        valid = len(checked.valid)
        if proposal.state is ProposalState.APPROVED and valid < state.threshold:
            self.lifecycle.move(proposal, ProposalState.PENDING, "reconcile",
                                {"reason": "signatures below threshold", "valid": valid})  # fmt: skip
        elif proposal.state is ProposalState.PENDING and valid >= state.threshold:
            self.lifecycle.move(proposal, ProposalState.APPROVED, "reconcile", {"signatures": valid})
