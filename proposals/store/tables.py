"""The SQLAlchemy tables behind the store; the migrations in proposals/migrations create them.

Rows never leave the store package: proposals.store.sql turns them into the frozen models.
Adding a table means a class here plus a new Alembic revision (a test checks they agree).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so later revisions (and SQLite batch mode) can refer to them.
OPEN_STATES_SQL = "state IN ('draft', 'pending', 'approved', 'executing', 'failed')"
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ADDRESS = String(42)
# JSONB on PostgreSQL (compact, indexable); plain JSON text elsewhere.
JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, so the 64-bit ids are INTEGER there.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite drops the offset, so naive values read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        # SQLite stores the wall-clock digits only; hand it UTC without an offset.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Uint256(TypeDecorator[int]):
    """A Solidity uint256 as decimal text: exact on every backend (SQLite has no 78-digit numeric)."""

    impl = String(78)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Base(DeclarativeBase):
    """Declarative base holding the store's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ProposalRow(Base):
    """One proposal: its Safe transaction, its actions and where it is in the lifecycle."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    # The state before the last transition, set by the same UPDATE that sets `state`.
    previous_state: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    proposer: Mapped[str] = mapped_column(String(200))
    safe: Mapped[str] = mapped_column(ADDRESS)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    safe_version: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(ADDRESS)
    value: Mapped[int] = mapped_column(Uint256)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    operation: Mapped[int] = mapped_column(SmallInteger)
    safe_tx_gas: Mapped[int] = mapped_column(Uint256)
    base_gas: Mapped[int] = mapped_column(Uint256)
    gas_price: Mapped[int] = mapped_column(Uint256)
    gas_token: Mapped[str] = mapped_column(ADDRESS)
    refund_receiver: Mapped[str] = mapped_column(ADDRESS)
    nonce: Mapped[int] = mapped_column(BigInteger)
    safe_tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    actions: Mapped[Any] = mapped_column(JSON_DOCUMENT)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rejects: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    execution_tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    execution_block: Mapped[int | None] = mapped_column(BigInteger)
    execution_gas: Mapped[int | None] = mapped_column(BigInteger)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # The before -> after diff and warnings planned when it was filed (0003); NULL: nothing planned.
    planned: Mapped[Any | None] = mapped_column(JSON_DOCUMENT, nullable=True)
    # The current executing claim (0004) and when a transaction was last signed under it: a claim with
    # nothing signed was never sent, so recovery may release it at once.
    execution_claim: Mapped[str | None] = mapped_column(String(36), nullable=True)
    execution_signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index(None, "safe_tx_hash"),
        # Unique among open proposals only: a withdrawn or expired change can be proposed again (0002).
        Index(
            "uq_proposals_open_safe_tx_hash",
            "safe_tx_hash",
            unique=True,
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        # "Pending, newest first" and its count read this index alone.
        Index(None, "state", "id"),
        Index(None, "safe", "nonce"),
    )


class SignatureRow(Base):
    """One owner's current signature on a proposal (dropped ones live on in the audit log)."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    # Always checksummed, so this unique pair is a case-insensitive "one signature per owner".
    owner: Mapped[str] = mapped_column(ADDRESS)
    kind: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("proposal_id", "owner"),)


class AuditRow(Base):
    """One append-only audit record; a database trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[Any] = mapped_column(JSON_DOCUMENT)

    __table_args__ = (Index(None, "proposal_id", "id"), Index(None, "at"))


class CursorRow(Base):
    """A named integer cursor, such as the last block reconciliation scanned."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ExecutionTxRow(Base):
    """A signed execTransaction, written before it is broadcast (0004); fee bumps add one row each."""

    __tablename__ = "execution_txs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    claim: Mapped[str] = mapped_column(String(36))
    tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    raw_tx: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[str] = mapped_column(ADDRESS)
    sender_nonce: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "proposal_id", "claim"), Index(None, "tx_hash"))


class ComposeFileRow(Base):
    """The app-compose.json behind one action's compose hash (0006); found again by hash for later diffs."""

    __tablename__ = "compose_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    action_index: Mapped[int] = mapped_column(Integer)
    app: Mapped[str] = mapped_column(ADDRESS)
    compose_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # The app's most recently allowed compose hash when the proposal was filed; NULL: none was allowed.
    base_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("proposal_id", "action_index"), Index(None, "compose_hash"))


class AppliedPolicyRow(Base):
    """A policy file as `policy apply` filed it (0005): drift is measured against the last one per KMS."""

    __tablename__ = "applied_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kms: Mapped[str] = mapped_column(ADDRESS)
    # The policy in canonical form (sorted 0x-hex lists), and the sha256 of it.
    policy: Mapped[Any] = mapped_column(JSON_DOCUMENT)
    policy_digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))
    plan_hash: Mapped[str] = mapped_column(String(64))
    # The block the plan was computed at: changes after it are judged against this policy.
    block: Mapped[int] = mapped_column(BigInteger)
    proposal_ids: Mapped[Any] = mapped_column(JSON_DOCUMENT)
    direct_txs: Mapped[Any] = mapped_column(JSON_DOCUMENT)
    applied_by: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index(None, "kms", "id"),)


class TxServiceOutboxRow(Base):
    """A signature waiting to be posted to the Safe Transaction Service (0007), retried with backoff."""

    __tablename__ = "tx_service_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    safe_tx_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signer: Mapped[str] = mapped_column(ADDRESS)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    posted_as: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (UniqueConstraint("safe_tx_hash", "signer"), Index(None, "status", "next_attempt_at"))
