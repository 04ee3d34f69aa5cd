"""The Store on SQLAlchemy: a SQLite file by default, PostgreSQL for production and replicas.

Every write and its audit entry share one database transaction. A state change is a single
compare-and-set UPDATE, so two replicas can never both claim the same execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress
from sqlalchemy import URL, Engine, Select, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from proposals.clock import Clock, utc_now
from proposals.errors import Conflict, InvalidInput, NotFound
from proposals.models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATES,
    TRANSITION_FIELDS,
    AuditEntry,
    NewProposal,
    NewSignature,
    Proposal,
    ProposalState,
    SignatureKind,
    StoredSignature,
)

from .composes import ComposeRecords, compose_rows
from .engine import make_engine
from .executions import ExecutionRecords
from .policies import PolicyRecords
from .rows import checksummed, proposal_row, to_audit_entry, to_proposal, to_signature, tx_hash, utc
from .schema import upgrade
from .tables import AuditRow, CursorRow, ProposalRow, SignatureRow
from .tx_outbox import TxOutboxRecords

if TYPE_CHECKING:
    from .base import Store


class SqlStore(ExecutionRecords, ComposeRecords, PolicyRecords, TxOutboxRecords):
    """Proposals, signatures, the append-only audit log and cursors in one SQL database."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    @property
    def engine(self) -> Engine:
        """The store's one engine (for health checks and benchmarks, not for queries elsewhere)."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- proposals -------------------------------------------------------------------------

    def create_proposal(self, new: NewProposal, *, actor: str) -> Proposal:
        """Insert a proposal (audit event `created`)."""
        now = self._now()
        row = proposal_row(new, now)
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                session.add_all(compose_rows(row.id, new.composes, now))  # the evidence lives and dies with it
                detail: dict[str, Any] = {"kind": row.kind, "state": row.state, "safe": row.safe, "nonce": row.nonce}
                detail |= {"safe_tx_hash": row.safe_tx_hash, "title": row.title, "rejects": row.rejects}
                self._append(session, now, row.id, actor, "created", detail)
        except IntegrityError:
            existing = self.find_by_hash(row.safe_tx_hash)
            if existing is not None:
                raise Conflict(f"safeTxHash 0x{row.safe_tx_hash.hex()} is already proposal #{existing.id}") from None
            if row.rejects is not None and not self._exists(row.rejects):
                raise NotFound(f"no proposal #{row.rejects} to reject") from None
            raise
        return to_proposal(row)

    def get(self, proposal_id: int) -> Proposal:
        """Return one proposal or raise NotFound."""
        with self._sessions() as session:
            row = session.get(ProposalRow, proposal_id)
            if row is None:
                raise NotFound(f"no proposal #{proposal_id}")
            return to_proposal(row)

    def find_by_hash(self, safe_tx_hash: bytes) -> Proposal | None:
        """Return the proposal with this safeTxHash, if any."""
        wanted = tx_hash(safe_tx_hash, "safeTxHash")
        with self._sessions() as session:
            # The same hash may recur after a withdrawal: the open proposal wins, else the newest.
            is_open = case((ProposalRow.state.in_([s.value for s in OPEN_STATES]), 0), else_=1)
            query = (
                select(ProposalRow).where(ProposalRow.safe_tx_hash == wanted).order_by(is_open, ProposalRow.id.desc())
            )
            row = session.scalars(query.limit(1)).first()
            return None if row is None else to_proposal(row)

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
        if limit < 0 or offset < 0:
            raise InvalidInput("limit and offset must not be negative")
        query = _filtered(select(ProposalRow), states, safe, nonce)
        query = query.order_by(ProposalRow.id.desc()).limit(limit).offset(offset)
        with self._sessions() as session:
            return [to_proposal(row) for row in session.scalars(query)]

    def count_proposals(
        self,
        *,
        states: Iterable[ProposalState] | None = None,
        safe: ChecksumAddress | None = None,
        nonce: int | None = None,
    ) -> int:
        """Return how many proposals `list_proposals` would find with these filters and no limit."""
        query = _filtered(select(func.count()).select_from(ProposalRow), states, safe, nonce)
        with self._sessions() as session:
            return session.scalar(query) or 0

    def reserved_nonces(self, safe: ChecksumAddress) -> set[int]:
        """Return the nonces held by open proposals (pending, approved, executing, failed) of `safe`."""
        query = _filtered(select(ProposalRow.nonce).distinct(), OPEN_STATES, safe, None)
        with self._sessions() as session:
            return set(session.scalars(query))

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

        Only the expected states that the lifecycle lets reach `new_state` take part; a proposal
        in any other state gets Conflict naming the state it is in.
        """
        target = ProposalState(new_state)
        wanted = sorted({ProposalState(state) for state in expected})
        sources = [state.value for state in wanted if target in ALLOWED_TRANSITIONS[state]]
        values = _transition_values(fields)
        if not sources:
            self.get(proposal_id)
            origin = " or ".join(state.value for state in wanted) or "no state"
            raise Conflict(f"proposal #{proposal_id} cannot move from {origin} to {target.value}")
        now = self._now()
        claim = (
            update(ProposalRow)
            .where(ProposalRow.id == proposal_id, ProposalRow.state.in_(sources))
            # The right-hand side reads the row as it was, so previous_state gets the old state.
            .values(previous_state=ProposalRow.state, state=target.value, updated_at=now, **values)
            .returning(ProposalRow)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            row = session.scalars(claim).one_or_none()
            if row is None:
                current = session.scalar(select(ProposalRow.state).where(ProposalRow.id == proposal_id))
                if current is None:
                    raise NotFound(f"no proposal #{proposal_id}")
                if current in {state.value for state in wanted}:
                    raise Conflict(f"proposal #{proposal_id} is {current} and cannot move to {target.value}")
                expected_text = " or ".join(state.value for state in wanted)
                raise Conflict(f"proposal #{proposal_id} is {current}, not {expected_text}")
            event = f"state:{row.previous_state}->{target.value}"
            self._append(session, now, proposal_id, actor, event, {**(detail or {}), **values})
            return to_proposal(row)

    # -- signatures ------------------------------------------------------------------------

    def add_signature(self, new: NewSignature, *, actor: str) -> StoredSignature:
        """Store a verified signature (audit event `signature`); Conflict if that owner already signed."""
        owner = checksummed(new.owner, "owner")
        now = self._now()
        row = SignatureRow(
            proposal_id=new.proposal_id,
            owner=owner,
            kind=SignatureKind(new.kind).value,
            signature=bytes(new.signature),
            source=new.source,
            created_at=now,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()
                detail = {"owner": owner, "kind": row.kind, "source": row.source, "signature": row.signature}
                self._append(session, now, new.proposal_id, actor, "signature", detail)
        except IntegrityError:
            if not self._exists(new.proposal_id):
                raise NotFound(f"no proposal #{new.proposal_id}") from None
            raise Conflict(f"{owner} already signed proposal #{new.proposal_id}") from None
        return to_signature(row)

    def remove_signature(self, proposal_id: int, owner: ChecksumAddress, *, actor: str, reason: str) -> None:
        """Drop a signature that is no longer valid (audit event `signature-dropped`, the bytes kept there)."""
        address = checksummed(owner, "owner")
        drop = (
            delete(SignatureRow)
            .where(SignatureRow.proposal_id == proposal_id, SignatureRow.owner == address)
            .returning(SignatureRow.kind, SignatureRow.signature, SignatureRow.source, SignatureRow.created_at)
        )
        with self._sessions.begin() as session:
            dropped = session.execute(drop).one_or_none()
            if dropped is None:
                if session.get(ProposalRow, proposal_id) is None:
                    raise NotFound(f"no proposal #{proposal_id}")
                raise NotFound(f"{address} has no signature on proposal #{proposal_id}")
            kind, signature, source, signed_at = dropped
            detail: dict[str, Any] = {"owner": address, "kind": kind, "signature": signature, "source": source}
            detail |= {"signed_at": signed_at, "reason": reason}
            self._append(session, self._now(), proposal_id, actor, "signature-dropped", detail)

    def signatures(self, proposal_id: int) -> list[StoredSignature]:
        """Return a proposal's signatures, oldest first."""
        query = select(SignatureRow).where(SignatureRow.proposal_id == proposal_id).order_by(SignatureRow.id)
        with self._sessions() as session:
            return [to_signature(row) for row in session.scalars(query)]

    # -- audit log -------------------------------------------------------------------------

    def record(self, proposal_id: int | None, *, actor: str, event: str, detail: Mapping[str, Any]) -> None:
        """Append a free-form audit entry (e.g. an announcement, a reminder, a refused signature)."""
        if not event:
            raise InvalidInput("an audit event needs a name")
        try:
            with self._sessions.begin() as session:
                self._append(session, self._now(), proposal_id, actor, event, detail)
        except IntegrityError:
            raise NotFound(f"no proposal #{proposal_id}") from None

    def audit(
        self, *, proposal_id: int | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Return audit entries in insertion order, optionally for one proposal and from `since` on."""
        query = select(AuditRow).order_by(AuditRow.id)
        if proposal_id is not None:
            query = query.where(AuditRow.proposal_id == proposal_id)
        if since is not None:
            query = query.where(AuditRow.at >= utc(since, "since"))
        if limit is not None:
            if limit < 0:
                raise InvalidInput("limit must not be negative")
            query = query.limit(limit)
        with self._sessions() as session:
            return [to_audit_entry(row) for row in session.scalars(query)]

    # -- cursors ---------------------------------------------------------------------------

    def get_cursor(self, name: str) -> int | None:
        """Return a named integer cursor (e.g. the last block reconciliation scanned)."""
        with self._sessions() as session:
            return session.scalar(select(CursorRow.value).where(CursorRow.name == name))

    def set_cursor(self, name: str, value: int) -> None:
        """Set a named integer cursor (an upsert; cursors are bookkeeping, not audited)."""
        if not name:
            raise InvalidInput("a cursor needs a name")
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(CursorRow).values(name=name, value=value)
        upsert = upsert.on_conflict_do_update(index_elements=[CursorRow.name], set_={"value": value})
        with self._sessions.begin() as session:
            session.execute(upsert)

    # -- internals -------------------------------------------------------------------------

    def _exists(self, proposal_id: int) -> bool:
        with self._sessions() as session:
            return session.scalar(select(ProposalRow.id).where(ProposalRow.id == proposal_id)) is not None


def _filtered(
    query: Select[Any],
    states: Iterable[ProposalState] | None,
    safe: str | None,
    nonce: int | None,
) -> Select[Any]:
    if states is not None:
        query = query.where(ProposalRow.state.in_(sorted(ProposalState(state).value for state in states)))
    if safe is not None:
        query = query.where(ProposalRow.safe == checksummed(safe, "safe"))
    if nonce is not None:
        query = query.where(ProposalRow.nonce == nonce)
    return query


def _transition_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - TRANSITION_FIELDS)
    if unknown:
        raise InvalidInput(f"a transition cannot set {', '.join(unknown)}")
    values = dict(fields)
    if values.get("execution_tx_hash") is not None:
        values["execution_tx_hash"] = tx_hash(values["execution_tx_hash"], "execution_tx_hash")
    for name in ("execution_block", "execution_gas"):
        if values.get(name) is not None and (not isinstance(values[name], int) or values[name] < 0):
            raise InvalidInput(f"{name}: expected a non-negative integer")
    if values.get("failure_reason") is not None:
        values["failure_reason"] = str(values["failure_reason"])
    if "execution_claim" in values:
        # A new claim (or none) starts with nothing signed.
        values["execution_signed_at"] = None
    return values


def open_store(url: str | URL, *, clock: Clock = utc_now) -> SqlStore:
    """Open the store at `url` (sqlite:///FILE or postgresql://...), upgrading its schema to the newest revision."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, clock=clock)


if TYPE_CHECKING:

    def _implements_the_protocol(store: SqlStore) -> Store:
        return store
