"""What a proposal looks like to people: decoded calls, signatures, who is missing, hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from eth_typing import ChecksumAddress

from proposals.compose_review import ComposeReview, higher_risk, review_as_dict
from proposals.decode import DescribedCall, Known, risk_warnings
from proposals.models import OPEN_STATES, Planned, Proposal, StoredSignature
from proposals.safe_tx import SafeState, SafeTxHashes, safe_tx_hashes
from proposals.stored_actions import describe_stored


@dataclass(frozen=True)
class SignatureView:
    """One owner's signature and whether it counts now."""

    owner: ChecksumAddress
    kind: str
    source: str
    valid: bool
    note: str = ""


@dataclass(frozen=True)
class ProposalView:
    """Everything a front end shows about one proposal."""

    proposal: Proposal
    hashes: SafeTxHashes
    calls: tuple[DescribedCall, ...]
    warnings: tuple[str, ...]
    signatures: tuple[SignatureView, ...]
    owners: tuple[ChecksumAddress, ...]
    threshold: int
    safe_nonce: int
    # The app-compose.json behind each compose hash the proposal allows, reviewed (proposals/compose_review.py).
    composes: tuple[ComposeReview, ...] = ()
    # Open proposals at the same nonce that do not cancel this one: only one of them can execute.
    competing: tuple[int, ...] = ()
    # This transaction's page in Safe{Wallet} (Transaction Service sync on, chain short name known).
    safe_wallet_url: str | None = None

    @property
    def valid_count(self) -> int:
        return sum(1 for s in self.signatures if s.valid)

    @property
    def missing_owners(self) -> tuple[ChecksumAddress, ...]:
        """Return owners who have not given a valid signature."""
        signed = {s.owner.lower() for s in self.signatures if s.valid}
        return tuple(o for o in self.owners if o.lower() not in signed)

    @property
    def is_open(self) -> bool:
        return self.proposal.state in OPEN_STATES


def build_view(
    proposal: Proposal,
    stored: list[StoredSignature],
    state: SafeState,
    known: Known,
    dropped: dict[str, str] | None = None,
    composes: Sequence[ComposeReview] = (),
    *,
    competing: Sequence[int] = (),
    safe_wallet_url: str | None = None,
) -> ProposalView:
    """Assemble the view; `dropped` maps owner (lowercase) -> why that signature no longer counts.

    A compose review raises the risk of the call it backs, and its concerns join the warnings.

    The calls are described from the actions stored with the proposal (ActionsMismatch when they do not
    encode its calldata), never decoded again through today's configuration.
    """
    dropped = dropped or {}
    calls = list(describe_stored(proposal, known))
    for review in composes:
        if 0 <= review.index < len(calls):
            calls[review.index] = replace(calls[review.index], risk=higher_risk(calls[review.index].risk, review.risk))
    signatures = []
    for sig in stored:
        reason = dropped.get(sig.owner.lower(), "")
        if not reason and proposal.state in OPEN_STATES and not state.is_owner(sig.owner):
            reason = "no longer an owner"
        signatures.append(SignatureView(sig.owner, sig.kind.value, sig.source, not reason, reason))
    return ProposalView(
        proposal=proposal,
        hashes=safe_tx_hashes(proposal.safe_tx),
        calls=tuple(calls),
        warnings=(
            *risk_warnings(proposal.safe_tx, calls, known),
            *(c for r in composes for c in r.concerns),
            *competing_warnings(proposal, competing),
        ),
        signatures=tuple(signatures),
        owners=state.owners,
        threshold=state.threshold,
        safe_nonce=state.nonce,
        composes=tuple(composes),
        competing=tuple(competing),
        safe_wallet_url=safe_wallet_url,
    )


def competing_warnings(proposal: Proposal, competing: Sequence[int]) -> list[str]:
    """Return the warning that other open proposals use this nonce (nothing decides between them here)."""
    if not competing:
        return []
    others = ", ".join(f"#{other}" for other in competing)
    return [
        f"competing: {others} also use(s) nonce {proposal.nonce} of this Safe; only one can execute, and "
        "dstack-gov does not choose: sign the one you want"
    ]


def signer_warnings(view: ProposalView) -> list[str]:
    """Return every risk warning a signer sees: the core's, planning's, and disableUpgrades on a new app."""
    found = list(view.warnings)
    planned = view.proposal.planned
    for warning in planned.warnings if planned is not None else ():
        if warning not in found:
            found.append(warning)
    for call in view.calls:
        if str(call.values.get("disableUpgrades", "")).lower() == "true":
            found.append(f"disableUpgrades: the new app can never be upgraded ({call.description})")
    return found


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + bytes(value).hex()


def proposal_as_dict(proposal: Proposal) -> dict[str, object]:
    """Return a proposal as camelCase JSON-ready data (no chain reads)."""
    tx = proposal.safe_tx
    return {
        "id": proposal.id,
        "kind": proposal.kind.value,
        "state": proposal.state.value,
        "title": proposal.title,
        "description": proposal.description,
        "proposer": proposal.proposer,
        "safe": tx.safe,
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "safeTxHash": _hex(proposal.safe_tx_hash),
        "safeTx": {
            "to": tx.to, "value": str(tx.value), "data": _hex(tx.data), "operation": tx.operation,
            "safeTxGas": str(tx.safe_tx_gas), "baseGas": str(tx.base_gas), "gasPrice": str(tx.gas_price),
            "gasToken": tx.gas_token, "refundReceiver": tx.refund_receiver, "nonce": tx.nonce,
            "safeVersion": tx.safe_version,
        },
        "actions": [{"action": a.action, "target": a.target, "values": dict(a.values)} for a in proposal.actions],
        "rejects": proposal.rejects,
        "createdAt": proposal.created_at.isoformat(),
        "updatedAt": proposal.updated_at.isoformat(),
        "expiresAt": proposal.expires_at.isoformat() if proposal.expires_at else None,
        "execution": None if proposal.execution_tx_hash is None else {
            "txHash": _hex(proposal.execution_tx_hash), "blockNumber": proposal.execution_block,
            "gasUsed": proposal.execution_gas, "confirming": proposal.confirming,
        },
        "failureReason": proposal.failure_reason,
        "planned": planned_as_dict(proposal.planned),
    }  # fmt: skip


def planned_as_dict(planned: Planned | None) -> dict[str, object] | None:
    """Return the diff and warnings planned when the proposal was filed (None: nothing was planned)."""
    if planned is None:
        return None
    return {
        "changes": [{"action": c.action, "index": c.index, "what": c.label, "before": c.before, "after": c.after}
                    for c in planned.changes],
        "warnings": list(planned.warnings),
        "simulationGas": planned.simulation_gas,
    }  # fmt: skip


def view_as_dict(view: ProposalView) -> dict[str, object]:
    """Return a full view (proposal, decoded calls, signatures, hashes) as JSON-ready data."""
    data = proposal_as_dict(view.proposal)
    data.update(
        {
            "hashes": {
                "safeTxHash": _hex(view.hashes.safe_tx_hash),
                "domainHash": _hex(view.hashes.domain_hash),
                "messageHash": _hex(view.hashes.message_hash),
            },
            "calls": [
                {"to": c.to, "value": str(c.value), "operation": c.operation, "description": c.description,
                 "action": c.action, "risk": c.risk.value, "values": c.values}
                for c in view.calls
            ],
            "warnings": list(view.warnings),
            "signatures": [
                {"owner": s.owner, "kind": s.kind, "source": s.source, "valid": s.valid, "note": s.note}
                for s in view.signatures
            ],
            "confirmations": view.valid_count,
            "threshold": view.threshold,
            "owners": list(view.owners),
            "missingOwners": list(view.missing_owners),
            "safeNonce": view.safe_nonce,
            "composes": [review_as_dict(r) for r in view.composes],
        }
    )  # fmt: skip
    return data
