"""The core's value types: proposals, signatures, audit entries (frozen; rows never leave the store)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eth_typing import ChecksumAddress


class ProposalState(enum.StrEnum):
    """Where a proposal is in its lifecycle (see DESIGN.md)."""

    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


# States a proposal can never leave.
TERMINAL_STATES = frozenset(
    {ProposalState.EXECUTED, ProposalState.CANCELLED, ProposalState.SUPERSEDED, ProposalState.EXPIRED}
)
# States that still hold their nonce (a failed proposal whose nonce was not used can be retried).
OPEN_STATES = frozenset({ProposalState.PENDING, ProposalState.APPROVED, ProposalState.EXECUTING, ProposalState.FAILED})
# Proposal ids and nonces are signed 64-bit integers in the database (SQLite INTEGER, PostgreSQL BIGINT).
MAX_ID = 2**63 - 1

ALLOWED_TRANSITIONS: Mapping[ProposalState, frozenset[ProposalState]] = {
    ProposalState.DRAFT: frozenset({ProposalState.PENDING, ProposalState.CANCELLED}),
    ProposalState.PENDING: frozenset(
        {ProposalState.APPROVED, ProposalState.CANCELLED, ProposalState.SUPERSEDED, ProposalState.EXPIRED,
         ProposalState.EXECUTED, ProposalState.FAILED}
    ),
    ProposalState.APPROVED: frozenset(
        {ProposalState.EXECUTING, ProposalState.PENDING, ProposalState.CANCELLED, ProposalState.SUPERSEDED,
         ProposalState.EXECUTED, ProposalState.FAILED, ProposalState.EXPIRED}
    ),
    # Cancelled: the nonce went to its executed rejection while its own signed tx never got mined.
    ProposalState.EXECUTING: frozenset(
        {ProposalState.EXECUTED, ProposalState.FAILED, ProposalState.APPROVED, ProposalState.SUPERSEDED,
         ProposalState.CANCELLED}
    ),
    ProposalState.FAILED: frozenset(
        {ProposalState.EXECUTING, ProposalState.APPROVED, ProposalState.PENDING, ProposalState.EXECUTED,
         ProposalState.CANCELLED, ProposalState.SUPERSEDED, ProposalState.EXPIRED}
    ),
    ProposalState.EXECUTED: frozenset(),
    ProposalState.CANCELLED: frozenset(),
    ProposalState.SUPERSEDED: frozenset(),
    ProposalState.EXPIRED: frozenset(),
}  # fmt: skip


class ProposalKind(enum.StrEnum):
    """A change, or the Safe-style rejection (a no-op at the same nonce) that cancels one."""

    CHANGE = "change"
    REJECTION = "rejection"


class SignatureKind(enum.StrEnum):
    """The four ways an owner approves a Safe transaction (the v byte tells them apart)."""

    EIP712 = "eip712"  # v = 27/28
    ETH_SIGN = "eth_sign"  # v = 31/32
    APPROVED_HASH = "approved_hash"  # v = 1, approveHash on chain
    CONTRACT = "contract"  # v = 0, EIP-1271 (a nested Safe)


@dataclass(frozen=True)
class ActionCall:
    """One catalogue action inside a proposal; `values` hold rendered (JSON-safe) strings."""

    action: str
    target: ChecksumAddress
    values: Mapping[str, Any]


@dataclass(frozen=True)
class PlannedChange:
    """One state difference, before -> after, expected when the proposal was filed."""

    action: str
    label: str
    before: str
    after: str
    # Which of the proposal's actions causes it (None: copied from the audit log of an older proposal).
    index: int | None = None


@dataclass(frozen=True)
class Planned:
    """What planning found when the proposal was filed: the expected diff and its warnings."""

    changes: tuple[PlannedChange, ...] = ()
    warnings: tuple[str, ...] = ()
    simulation_gas: int | None = None


@dataclass(frozen=True)
class SafeTxData:
    """The Safe transaction fields that the safeTxHash commits to, plus where it lives."""

    safe: ChecksumAddress
    chain_id: int
    safe_version: str
    to: ChecksumAddress
    value: int
    data: bytes
    operation: int
    safe_tx_gas: int
    base_gas: int
    gas_price: int
    gas_token: ChecksumAddress
    refund_receiver: ChecksumAddress
    nonce: int


@dataclass(frozen=True)
class ComposeRecord:
    """The app-compose.json filed behind the compose hash of one of a proposal's actions."""

    index: int  # which of the proposal's actions (from 0)
    app: ChecksumAddress
    compose_hash: bytes
    raw: bytes
    # The app's most recently allowed compose hash when this was filed (what the review diffs against).
    base_hash: bytes | None = None


@dataclass(frozen=True)
class NewProposal:
    """What the service hands the store to create a proposal."""

    kind: ProposalKind
    state: ProposalState
    title: str
    description: str
    proposer: str
    safe_tx: SafeTxData
    safe_tx_hash: bytes
    actions: tuple[ActionCall, ...]
    expires_at: datetime | None
    rejects: int | None = None
    planned: Planned | None = None
    composes: tuple[ComposeRecord, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """A stored proposal."""

    id: int
    kind: ProposalKind
    state: ProposalState
    title: str
    description: str
    proposer: str
    safe_tx: SafeTxData
    safe_tx_hash: bytes
    actions: tuple[ActionCall, ...]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    rejects: int | None = None
    execution_tx_hash: bytes | None = None
    execution_block: int | None = None
    execution_gas: int | None = None
    failure_reason: str | None = None
    # A fresh token per executing claim: the signed transactions recorded under it belong to that attempt.
    execution_claim: str | None = None
    planned: Planned | None = None

    @property
    def safe(self) -> ChecksumAddress:
        return self.safe_tx.safe

    @property
    def nonce(self) -> int:
        return self.safe_tx.nonce

    @property
    def confirming(self) -> bool:
        """Return True when its execution is mined but not yet final (fewer than `confirmations` blocks deep)."""
        return self.state is ProposalState.EXECUTING and self.execution_block is not None


@dataclass(frozen=True)
class NewSignature:
    """A verified signature to store."""

    proposal_id: int
    owner: ChecksumAddress
    kind: SignatureKind
    signature: bytes
    source: str


@dataclass(frozen=True)
class StoredSignature:
    """A signature as stored (its validity is re-checked against current owners before use)."""

    id: int
    proposal_id: int
    owner: ChecksumAddress
    kind: SignatureKind
    signature: bytes
    source: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit record: who did what, when, with which hash."""

    id: int
    at: datetime
    proposal_id: int | None
    actor: str
    event: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedExecution:
    """An execTransaction the executor signed, recorded before it is broadcast (so a crash can be recovered)."""

    tx_hash: bytes
    raw: bytes
    sender: ChecksumAddress
    sender_nonce: int


# Extra columns a transition may set alongside the state.
TRANSITION_FIELDS = frozenset(
    {"execution_tx_hash", "execution_block", "execution_gas", "failure_reason", "execution_claim"}
)
