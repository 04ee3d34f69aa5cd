"""Convert between table rows and the core's frozen models, normalising what goes in."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, cast

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.errors import InvalidInput
from proposals.models import (
    ActionCall,
    AuditEntry,
    NewProposal,
    Planned,
    PlannedChange,
    Proposal,
    ProposalKind,
    ProposalState,
    SafeTxData,
    SignatureKind,
    StoredSignature,
)

from .tables import AuditRow, ProposalRow, SignatureRow

HASH_LENGTH = 32


def checksummed(address: str, what: str = "address") -> ChecksumAddress:
    """Return `address` in EIP-55 form, whatever its case; InvalidInput when it is not an address."""
    text = str(address)
    if len(text) != 42 or not Web3.is_address(text.lower()):
        raise InvalidInput(f"{what}: not an address (20 bytes of hex): {text!r}")
    return Web3.to_checksum_address(text.lower())


def tx_hash(value: bytes, what: str) -> bytes:
    """Return `value` as exactly 32 bytes or raise InvalidInput."""
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_LENGTH:
        raise InvalidInput(f"{what}: expected {HASH_LENGTH} bytes")
    return bytes(value)


def utc(value: datetime, what: str) -> datetime:
    """Return an aware `value` in UTC; a naive one is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what}: a timezone-aware datetime is required")
    return value.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """Return `value` as plain JSON data: bytes become 0x-hex, enums their value, datetimes ISO 8601."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON (and PostgreSQL's jsonb) has no NaN or infinity.
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    # An audit entry must never be lost to an odd type: keep its text.
    return str(value)


def _stored(address: str) -> ChecksumAddress:
    # Checksummed on the way in (see checksummed), so no need to recompute it on the way out.
    return cast(ChecksumAddress, address)


def proposal_row(new: NewProposal, now: datetime) -> ProposalRow:
    """Build the row for a new proposal, normalising addresses, hashes and timestamps."""
    tx = new.safe_tx
    return ProposalRow(
        kind=ProposalKind(new.kind).value,
        state=ProposalState(new.state).value,
        title=new.title,
        description=new.description,
        proposer=new.proposer,
        safe=checksummed(tx.safe, "safe"),
        chain_id=tx.chain_id,
        safe_version=tx.safe_version,
        to=checksummed(tx.to, "to"),
        value=tx.value,
        data=bytes(tx.data),
        operation=tx.operation,
        safe_tx_gas=tx.safe_tx_gas,
        base_gas=tx.base_gas,
        gas_price=tx.gas_price,
        gas_token=checksummed(tx.gas_token, "gas token"),
        refund_receiver=checksummed(tx.refund_receiver, "refund receiver"),
        nonce=tx.nonce,
        safe_tx_hash=tx_hash(new.safe_tx_hash, "safeTxHash"),
        actions=[
            {"action": a.action, "target": checksummed(a.target, "action target"), "values": jsonable(a.values)}
            for a in new.actions
        ],
        created_at=now,
        updated_at=now,
        expires_at=None if new.expires_at is None else utc(new.expires_at, "expires_at"),
        rejects=new.rejects,
        planned=None if new.planned is None else planned_document(new.planned),
    )


def planned_document(planned: Planned) -> dict[str, Any]:
    """Return the stored form of a plan's diff and warnings (the keys the `planned` audit entry uses)."""
    return {
        "warnings": list(planned.warnings),
        "simulationGas": planned.simulation_gas,
        "changes": [
            {"action": c.action, "index": c.index, "what": c.label, "before": c.before, "after": c.after}
            for c in planned.changes
        ],
    }


def to_planned(document: Any) -> Planned | None:
    """Return the plan stored with a proposal; rows copied from the audit log (0003) may lack keys."""
    if not isinstance(document, Mapping):
        return None
    changes = tuple(
        PlannedChange(
            action=str(c.get("action", "")),
            label=str(c.get("what", "")),
            before=str(c.get("before", "")),
            after=str(c.get("after", "")),
            index=c["index"] if isinstance(c.get("index"), int) else None,
        )
        for c in document.get("changes") or ()
        if isinstance(c, Mapping)
    )
    gas = document.get("simulationGas")
    warnings = tuple(str(w) for w in document.get("warnings") or ())
    return Planned(changes, warnings, gas if isinstance(gas, int) else None)


def to_proposal(row: ProposalRow) -> Proposal:
    """Return the frozen model of a proposal row."""
    return Proposal(
        id=row.id,
        kind=ProposalKind(row.kind),
        state=ProposalState(row.state),
        title=row.title,
        description=row.description,
        proposer=row.proposer,
        safe_tx=SafeTxData(
            safe=_stored(row.safe),
            chain_id=row.chain_id,
            safe_version=row.safe_version,
            to=_stored(row.to),
            value=row.value,
            data=bytes(row.data),
            operation=row.operation,
            safe_tx_gas=row.safe_tx_gas,
            base_gas=row.base_gas,
            gas_price=row.gas_price,
            gas_token=_stored(row.gas_token),
            refund_receiver=_stored(row.refund_receiver),
            nonce=row.nonce,
        ),
        safe_tx_hash=bytes(row.safe_tx_hash),
        actions=tuple(
            ActionCall(action=a["action"], target=_stored(a["target"]), values=a["values"]) for a in row.actions
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        rejects=row.rejects,
        execution_tx_hash=None if row.execution_tx_hash is None else bytes(row.execution_tx_hash),
        execution_block=row.execution_block,
        execution_gas=row.execution_gas,
        failure_reason=row.failure_reason,
        execution_claim=row.execution_claim,
        planned=to_planned(row.planned),
    )


def to_signature(row: SignatureRow) -> StoredSignature:
    """Return the frozen model of a signature row."""
    return StoredSignature(
        id=row.id,
        proposal_id=row.proposal_id,
        owner=_stored(row.owner),
        kind=SignatureKind(row.kind),
        signature=bytes(row.signature),
        source=row.source,
        created_at=row.created_at,
    )


def to_audit_entry(row: AuditRow) -> AuditEntry:
    """Return the frozen model of an audit row."""
    return AuditEntry(
        id=row.id,
        at=row.at,
        proposal_id=row.proposal_id,
        actor=row.actor,
        event=row.event,
        detail=row.detail,
    )
