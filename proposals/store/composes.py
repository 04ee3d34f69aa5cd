"""The store's compose files: the app-compose.json behind each compose hash a proposal adds, kept with it.

They are written in the same database transaction as their proposal (SqlStore.create_proposal), read
back per proposal for its review, and found by compose hash so that a later proposal for the same
app can be diffed against the compose of the hash the app allows now.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from proposals.errors import InvalidInput
from proposals.models import ComposeRecord

from .part import StorePart
from .rows import checksummed, tx_hash
from .tables import ComposeFileRow


def compose_rows(proposal_id: int, records: Iterable[ComposeRecord], now: datetime) -> list[ComposeFileRow]:
    """Return the rows that store `records` with proposal `proposal_id`."""
    rows = []
    for record in records:
        if record.index < 0:
            raise InvalidInput("a compose file belongs to an action index from 0 up")
        base = None if record.base_hash is None else tx_hash(record.base_hash, "base compose hash")
        rows.append(ComposeFileRow(
            proposal_id=proposal_id, action_index=record.index, app=checksummed(record.app, "app"),
            compose_hash=tx_hash(record.compose_hash, "compose hash"), raw=bytes(record.raw), base_hash=base,
            created_at=now,
        ))  # fmt: skip
    return rows


def _record(row: ComposeFileRow) -> ComposeRecord:
    base = None if row.base_hash is None else bytes(row.base_hash)
    return ComposeRecord(row.action_index, checksummed(row.app), bytes(row.compose_hash), bytes(row.raw), base)


class ComposeRecords(StorePart):
    """Mixed into SqlStore: the compose-file half of the Store protocol."""

    def composes(self, proposal_id: int) -> list[ComposeRecord]:
        """Return the compose files filed with a proposal, by action index."""
        query = select(ComposeFileRow).where(ComposeFileRow.proposal_id == proposal_id)
        with self._sessions() as session:
            return [_record(row) for row in session.scalars(query.order_by(ComposeFileRow.action_index))]

    def compose_by_hash(self, compose_hash: bytes) -> bytes | None:
        """Return an app-compose.json filed behind `compose_hash` (the newest), if dstack-gov has seen one."""
        wanted = tx_hash(compose_hash, "compose hash")
        query = select(ComposeFileRow.raw).where(ComposeFileRow.compose_hash == wanted)
        with self._sessions() as session:
            raw = session.scalars(query.order_by(ComposeFileRow.id.desc()).limit(1)).first()
            return None if raw is None else bytes(raw)
