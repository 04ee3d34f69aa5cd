"""The store's Transaction Service outbox: signatures to post, their retries, and what was posted.

Bookkeeping, not governance: entries are not audited here (the sync audits what reached the service).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from proposals.errors import NotFound
from proposals.tx_outbox import NewOutboxEntry, OutboxEntry, OutboxStatus, SignerRole

from .part import StorePart
from .rows import checksummed, tx_hash, utc
from .tables import ProposalRow, TxServiceOutboxRow

# Longest error text kept per entry (a service's error body can be anything).
_ERROR_CHARS = 300


class TxOutboxRecords(StorePart):
    """Mixed into SqlStore: the Transaction Service outbox half of the Store protocol."""

    def enqueue_tx_service(self, new: NewOutboxEntry, *, now: datetime) -> bool:
        """Add a signature to post, due at once; False when that signer's entry for the hash exists."""
        row = TxServiceOutboxRow(
            proposal_id=new.proposal_id, safe_tx_hash=tx_hash(new.safe_tx_hash, "safeTxHash"),
            signer=checksummed(new.signer, "signer"), signature=bytes(new.signature), role=SignerRole(new.role).value,
            status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=utc(now, "now"), last_error=None,
            created_at=utc(now, "now"), posted_at=None, posted_as=None,
        )  # fmt: skip
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            with self._sessions() as session:
                if session.get(ProposalRow, new.proposal_id) is None:
                    raise NotFound(f"no proposal #{new.proposal_id}") from None
            return False
        return True

    def tx_service_entries(
        self, *, proposal_id: int | None = None, statuses: Sequence[OutboxStatus] | None = None
    ) -> list[OutboxEntry]:
        """Return outbox entries, oldest first, optionally one proposal's or in some statuses."""
        query = select(TxServiceOutboxRow).order_by(TxServiceOutboxRow.id)
        if proposal_id is not None:
            query = query.where(TxServiceOutboxRow.proposal_id == proposal_id)
        if statuses is not None:
            query = query.where(TxServiceOutboxRow.status.in_([OutboxStatus(s).value for s in statuses]))
        with self._sessions() as session:
            return [_entry(row) for row in session.scalars(query)]

    def due_tx_service(self, now: datetime, limit: int = 500) -> list[OutboxEntry]:
        """Return pending entries whose next attempt is due at `now`, oldest first."""
        query = (
            select(TxServiceOutboxRow)
            .where(TxServiceOutboxRow.status == OutboxStatus.PENDING.value,
                   TxServiceOutboxRow.next_attempt_at <= utc(now, "now"))
            .order_by(TxServiceOutboxRow.id)
            .limit(limit)
        )  # fmt: skip
        with self._sessions() as session:
            return [_entry(row) for row in session.scalars(query)]

    def tx_service_posted(self, safe_tx_hash: bytes) -> bool:
        """Return True when some signature of this safeTxHash reached the service (so it knows the transaction)."""
        query = select(TxServiceOutboxRow.id).where(
            TxServiceOutboxRow.safe_tx_hash == tx_hash(safe_tx_hash, "safeTxHash"),
            TxServiceOutboxRow.status == OutboxStatus.POSTED.value,
        )
        with self._sessions() as session:
            return session.scalars(query.limit(1)).first() is not None

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
        """Record an attempt: posted, dropped, or still pending with its error and next attempt."""
        values: dict[str, object] = {"status": OutboxStatus(status).value,
                                     "attempts": TxServiceOutboxRow.attempts + 1}  # fmt: skip
        if status is OutboxStatus.POSTED:
            values |= {"posted_at": utc(now, "now"), "posted_as": posted_as, "last_error": None}
        if error is not None:
            values["last_error"] = error[:_ERROR_CHARS]
        if retry_at is not None:
            values["next_attempt_at"] = utc(retry_at, "retry_at")
        with self._sessions.begin() as session:
            session.execute(update(TxServiceOutboxRow).where(TxServiceOutboxRow.id == entry_id).values(**values))


def _entry(row: TxServiceOutboxRow) -> OutboxEntry:
    posted_at = None if row.posted_at is None else utc(row.posted_at, "posted_at")
    return OutboxEntry(
        id=row.id, proposal_id=row.proposal_id, safe_tx_hash=bytes(row.safe_tx_hash), signer=checksummed(row.signer),
        signature=bytes(row.signature), role=SignerRole(row.role), status=OutboxStatus(row.status),
        attempts=row.attempts, next_attempt_at=utc(row.next_attempt_at, "next_attempt_at"),
        last_error=row.last_error, created_at=utc(row.created_at, "created_at"), posted_at=posted_at,
        posted_as=row.posted_as,
    )  # fmt: skip
