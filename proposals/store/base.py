"""The storage contract the core relies on; the SQLAlchemy store implements it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from eth_typing import ChecksumAddress

from proposals.models import (
    AuditEntry,
    ComposeRecord,
    NewProposal,
    NewSignature,
    Proposal,
    ProposalState,
    SignedExecution,
    StoredSignature,
)
from proposals.policy_file import AppliedPolicy, NewAppliedPolicy
from proposals.tx_outbox import NewOutboxEntry, OutboxEntry, OutboxStatus


class Store(Protocol):
    """Persistence for proposals, signatures, the audit log and reconciliation cursors.

    Every write also appends to the audit log in the same database transaction.
    Errors: proposals.errors.NotFound for a missing proposal, Conflict for a duplicate
    safeTxHash, a duplicate (proposal, owner) signature, or a transition from an unexpected state.
    """

    def create_proposal(self, new: NewProposal, *, actor: str) -> Proposal:
        """Insert a proposal (audit event `created`)."""

    def get(self, proposal_id: int) -> Proposal:
        """Return one proposal or raise NotFound."""

    def find_by_hash(self, safe_tx_hash: bytes) -> Proposal | None:
        """Return the proposal with this safeTxHash, if any."""

    def list_proposals(
        self,
        *,
        states: Iterable[ProposalState] | None = None,
        safe: ChecksumAddress | None = None,
        nonce: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Proposal]:
        """Return proposals, newest first, filtered by state / Safe / nonce."""

    def count_proposals(
        self,
        *,
        states: Iterable[ProposalState] | None = None,
        safe: ChecksumAddress | None = None,
        nonce: int | None = None,
    ) -> int:
        """Count proposals with the same filters as list_proposals."""

    def reserved_nonces(self, safe: ChecksumAddress) -> set[int]:
        """Return the nonces held by open proposals (pending, approved, executing, failed) of `safe`."""

    def transition(
        self,
        proposal_id: int,
        new_state: ProposalState,
        *,
        actor: str,
        expected: Iterable[ProposalState],
        detail: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Proposal:
        """Atomically move a proposal from one of `expected` to `new_state` (compare-and-set).

        `fields` may set execution_tx_hash, execution_block, execution_gas, failure_reason.
        Raises Conflict (with the current state) when the proposal is not in `expected`,
        so two replicas can never both claim the same execution.
        Audit event: `state:<old>-><new>` with `detail` and the fields.
        """

    def record_signed_execution(self, proposal_id: int, claim: str, signed: SignedExecution, *, actor: str) -> None:
        """Keep a signed execution tx before it is sent (audit `execution-signed`); Conflict if the claim is gone."""

    def signed_executions(self, proposal_id: int) -> list[SignedExecution]:
        """Return the transactions signed under the proposal's current claim, oldest first."""

    def release_unsent(self, proposal_id: int, claim: str | None, *, actor: str, reason: str) -> Proposal | None:
        """Move an executing proposal whose claim signed nothing back to approved; None if it did or moved on."""

    def note_execution(self, proposal_id: int, claim: str | None, *, actor: str, reason: str) -> Proposal | None:
        """Show why an executing proposal waits (audit `execution-waiting`); None once the claim is gone."""

    def note_mined(
        self, proposal_id: int, mined: tuple[bytes, int, int] | None, *, actor: str, detail: Mapping[str, Any]
    ) -> Proposal | None:
        """Set an executing proposal's mined (tx hash, block, gas), or clear them after a reorg dropped it.

        Audit `execution-mined` or `execution-reorged`; None when the proposal is not executing.
        """

    def add_signature(self, new: NewSignature, *, actor: str) -> StoredSignature:
        """Store a verified signature (audit event `signature`); Conflict if that owner already signed."""

    def remove_signature(self, proposal_id: int, owner: ChecksumAddress, *, actor: str, reason: str) -> None:
        """Drop a signature that is no longer valid (audit event `signature-dropped`, the bytes kept there)."""

    def signatures(self, proposal_id: int) -> list[StoredSignature]:
        """Return a proposal's signatures, oldest first."""

    def record(self, proposal_id: int | None, *, actor: str, event: str, detail: Mapping[str, Any]) -> None:
        """Append a free-form audit entry (e.g. an announcement, a reminder, a refused signature)."""

    def audit(
        self, *, proposal_id: int | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Return audit entries in insertion order."""

    def composes(self, proposal_id: int) -> list[ComposeRecord]:
        """Return the app-compose.json files filed with a proposal (written by create_proposal), by action index."""

    def compose_by_hash(self, compose_hash: bytes) -> bytes | None:
        """Return an app-compose.json filed behind `compose_hash` (the newest), if any was."""

    def record_applied_policy(self, new: NewAppliedPolicy, *, actor: str) -> AppliedPolicy:
        """Keep a policy file as `policy apply` filed it (audit event `policy-applied`)."""

    def last_applied_policy(self, kms: ChecksumAddress) -> AppliedPolicy | None:
        """Return the policy file applied last to `kms`, if any."""

    def executed_by(self, tx_hashes: Collection[bytes]) -> dict[bytes, int]:
        """Return, for each of `tx_hashes` that executed a proposal, that proposal's id."""

    def enqueue_tx_service(self, new: NewOutboxEntry, *, now: datetime) -> bool:
        """Add a signature to post to the Safe Transaction Service; False when that signer's entry exists."""

    def tx_service_entries(
        self, *, proposal_id: int | None = None, statuses: Sequence[OutboxStatus] | None = None
    ) -> list[OutboxEntry]:
        """Return Transaction Service outbox entries, oldest first."""

    def due_tx_service(self, now: datetime, limit: int = 500) -> list[OutboxEntry]:
        """Return pending outbox entries due at `now`, oldest first."""

    def tx_service_posted(self, safe_tx_hash: bytes) -> bool:
        """Return True when some signature of this safeTxHash reached the service."""

    def settle_tx_service(
        self,
        entry_id: int,
        status: OutboxStatus,
        *,
        now: datetime,
        posted_as: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record an outbox attempt: posted, dropped, or still pending with its error and next attempt."""

    def get_cursor(self, name: str) -> int | None:
        """Return a named integer cursor (e.g. the last block reconciliation scanned)."""

    def set_cursor(self, name: str, value: int) -> None:
        """Set a named integer cursor."""

    def close(self) -> None:
        """Release the database connections."""
