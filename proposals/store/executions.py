"""The store's execution records: signed transactions kept before broadcast, and what recovery may do with a claim.

Each write is one compare-and-set UPDATE on the proposal row plus its audit entry, in one database
transaction. Recording a signed transaction stamps `execution_signed_at` and releasing an unsent
claim requires it to be NULL, so the two exclude each other: a claim is either released before
anything was signed (and the executor, finding its claim gone, sends nothing) or it is not released.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Update, select, update

from proposals.errors import Conflict
from proposals.models import Proposal, ProposalState, SignedExecution

from .part import StorePart
from .rows import checksummed, to_proposal, tx_hash
from .tables import ExecutionTxRow, ProposalRow

EXECUTING = ProposalState.EXECUTING.value


class ExecutionRecords(StorePart):
    """Mixed into SqlStore: the execution-record half of the Store protocol."""

    def record_signed_execution(self, proposal_id: int, claim: str, signed: SignedExecution, *, actor: str) -> None:
        """Keep a signed execution tx before it is sent (audit `execution-signed`); Conflict if the claim is gone."""
        now = self._now()
        row = ExecutionTxRow(
            proposal_id=proposal_id, claim=claim, tx_hash=tx_hash(signed.tx_hash, "tx hash"), raw_tx=bytes(signed.raw),
            sender=checksummed(signed.sender, "sender"), sender_nonce=signed.sender_nonce, created_at=now,
        )  # fmt: skip
        stamp = _claimed(proposal_id, claim).values(execution_signed_at=now).returning(ProposalRow.id)
        with self._sessions.begin() as session:
            if session.scalar(stamp) is None:
                raise Conflict(f"proposal #{proposal_id} is no longer claimed by this execution; nothing was sent")
            session.add(row)
            session.flush()
            detail = {"txHash": row.tx_hash, "sender": row.sender, "senderNonce": row.sender_nonce}
            self._append(session, now, proposal_id, actor, "execution-signed", detail)

    def signed_executions(self, proposal_id: int) -> list[SignedExecution]:
        """Return the transactions signed under the proposal's current claim, oldest first."""
        query = (
            select(ExecutionTxRow)
            .join(ProposalRow, ProposalRow.id == ExecutionTxRow.proposal_id)
            .where(ExecutionTxRow.proposal_id == proposal_id, ExecutionTxRow.claim == ProposalRow.execution_claim)
            .order_by(ExecutionTxRow.id)
        )
        with self._sessions() as session:
            return [
                SignedExecution(bytes(r.tx_hash), bytes(r.raw_tx), checksummed(r.sender), r.sender_nonce)
                for r in session.scalars(query)
            ]

    def release_unsent(self, proposal_id: int, claim: str | None, *, actor: str, reason: str) -> Proposal | None:
        """Move an executing proposal whose claim signed nothing back to approved; None if it did or moved on."""
        now = self._now()
        release = (
            _claimed(proposal_id, claim)
            .where(ProposalRow.execution_signed_at.is_(None))
            .values(previous_state=ProposalRow.state, state=ProposalState.APPROVED.value, updated_at=now,
                    execution_claim=None)
            .returning(ProposalRow)
        )  # fmt: skip
        with self._sessions.begin() as session:
            row = session.scalars(release).one_or_none()
            if row is None:
                return None
            event = f"state:{EXECUTING}->{ProposalState.APPROVED.value}"
            self._append(session, now, proposal_id, actor, event, {"reason": reason})
            return to_proposal(row)

    def note_execution(self, proposal_id: int, claim: str | None, *, actor: str, reason: str) -> Proposal | None:
        """Show why an executing proposal waits (audit `execution-waiting`); None once the claim is gone."""
        now = self._now()
        note = _claimed(proposal_id, claim).values(failure_reason=reason, updated_at=now).returning(ProposalRow)
        with self._sessions.begin() as session:
            row = session.scalars(note).one_or_none()
            if row is None:
                return None
            self._append(session, now, proposal_id, actor, "execution-waiting", {"reason": reason})
            return to_proposal(row)

    def note_mined(
        self, proposal_id: int, mined: tuple[bytes, int, int] | None, *, actor: str, detail: Mapping[str, Any]
    ) -> Proposal | None:
        """Set an executing proposal's mined (tx hash, block, gas), or clear them after a reorg dropped it.

        Audit `execution-mined` or `execution-reorged`; None when the proposal is not executing.
        """
        now = self._now()
        tx, block, gas = mined if mined is not None else (None, None, None)
        values = {"execution_tx_hash": None if tx is None else tx_hash(tx, "tx hash"), "execution_block": block,
                  "execution_gas": gas, "failure_reason": None, "updated_at": now}  # fmt: skip
        note = (
            update(ProposalRow)
            .where(ProposalRow.id == proposal_id, ProposalRow.state == EXECUTING)
            .values(**values)
            .returning(ProposalRow)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            row = session.scalars(note).one_or_none()
            if row is None:
                return None
            event = "execution-mined" if mined is not None else "execution-reorged"
            self._append(session, now, proposal_id, actor, event, detail)
            return to_proposal(row)


def _claimed(proposal_id: int, claim: str | None) -> Update:
    """UPDATE the proposal only while it is executing under `claim` (None: a claim made before 0004)."""
    return (
        update(ProposalRow)
        .where(
            ProposalRow.id == proposal_id,
            ProposalRow.state == EXECUTING,
            ProposalRow.execution_claim.is_not_distinct_from(claim),
        )
        .execution_options(synchronize_session=False)
    )
