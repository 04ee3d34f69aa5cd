"""Turn a transaction found in the Safe Transaction Service into a proposal signers can read.

Its calls are decoded through the catalogue (a MultiSend batch call by call). A call the catalogue
cannot decode, or decodes to something that does not encode back to the same bytes, is stored
undecoded (proposals/undecoded.py): shown as high risk, in terms of its raw target, value and calldata.
Either way the stored actions pass the same check as our own proposals before anyone sees them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.decode import Known, describe_tx
from proposals.errors import ActionsMismatch, GovernanceError
from proposals.models import (
    ActionCall,
    NewProposal,
    Planned,
    Proposal,
    ProposalKind,
    ProposalState,
    SafeTxData,
)
from proposals.safe_tx import CALL, DELEGATECALL, ZERO_ADDRESS, SafeState, simulate, unbatch
from proposals.stored_actions import describe_stored
from proposals.tx_service import RemoteTx
from proposals.undecoded import undecoded_action

# Proposer of an imported proposal: this prefix, then the address the service names as its proposer.
IMPORTED_PREFIX = "safe-wallet:"
IMPORTED_WARNING = (
    "Filed in Safe{Wallet} (the Safe Transaction Service), not through dstack-gov: "
    "no precheck and no expected diff; read every action"
)


def remote_safe_tx(remote: RemoteTx, state: SafeState) -> SafeTxData:
    """Return the Safe transaction the service lists, for the Safe as the chain has it."""
    return SafeTxData(
        safe=state.address, chain_id=state.chain_id, safe_version=state.version, to=remote.to,
        value=remote.value, data=bytes(remote.data), operation=remote.operation, safe_tx_gas=remote.safe_tx_gas,
        base_gas=remote.base_gas, gas_price=remote.gas_price, gas_token=remote.gas_token,
        refund_receiver=remote.refund_receiver, nonce=remote.nonce,
    )  # fmt: skip


def is_rejection(tx: SafeTxData) -> bool:
    """Return True for the Safe-style rejection: a call to the Safe itself with no data and no value."""
    return tx.to.lower() == tx.safe.lower() and not tx.data and tx.value == 0 and tx.operation == CALL


def decoded_actions(tx: SafeTxData, known: Known) -> tuple[ActionCall, ...]:
    """Return the actions to store for `tx`: catalogue actions where they hold, undecoded calls elsewhere."""
    inner = unbatch(tx.to, tx.data, tx.operation, known.multi_send, tx.value)
    if len(inner) < 2:  # one call, or a batch of one: stored as the transaction itself
        inner = [(tx.to, tx.value, bytes(tx.data), tx.operation)]
    described = describe_tx(tx, known)
    actions = []
    for (to, value, data, operation), call in zip(inner, described, strict=True):
        candidate = undecoded_action(to, value, data, operation)
        if call.action is not None and operation == CALL and value == 0:
            decoded = ActionCall(call.action, to, dict(call.values))
            if _holds(tx, to, data, decoded, known):
                candidate = decoded
        actions.append(candidate)
    return tuple(actions)


def _holds(tx: SafeTxData, to: ChecksumAddress, data: bytes, action: ActionCall, known: Known) -> bool:
    """Return True when `action` alone passes the stored-actions check as a one-call transaction."""
    alone = replace(tx, to=to, value=0, data=data, operation=CALL)
    try:
        describe_stored(_probe(alone, (action,)), known)
    except ActionsMismatch:
        return False
    return True


def _probe(tx: SafeTxData, actions: tuple[ActionCall, ...]) -> Proposal:
    now = datetime.now().astimezone()
    return Proposal(0, ProposalKind.CHANGE, ProposalState.PENDING, "", "", "", tx, b"", actions, now, now, None)


def import_warnings(w3: Web3, tx: SafeTxData, accessor: ChecksumAddress) -> tuple[str, ...]:
    """Return what signers must know about a transaction dstack-gov did not plan: refunds, a failing simulation."""
    warnings = [IMPORTED_WARNING]
    if tx.gas_price or tx.base_gas or tx.gas_token != ZERO_ADDRESS or tx.refund_receiver != ZERO_ADDRESS:
        warnings.append(
            f"it pays a gas refund from the Safe: gasPrice {tx.gas_price}, baseGas {tx.base_gas}, "
            f"gasToken {tx.gas_token}, refundReceiver {tx.refund_receiver}"
        )
    try:
        simulation = simulate(w3, tx, accessor)
    except GovernanceError as exc:
        warnings.append(f"it could not be simulated: {exc.message}")
    else:
        if not simulation.success:
            warnings.append(f"the simulation fails now: {simulation.reason or 'no reason given'}")
    return tuple(warnings)


def imported_proposal(
    remote: RemoteTx,
    tx: SafeTxData,
    known: Known,
    *,
    rejects: int | None,
    warnings: tuple[str, ...],
    expires_at: datetime | None,
) -> NewProposal:
    """Return the pending proposal that stands for `remote` here (ActionsMismatch if it cannot be shown)."""
    proposer = f"{IMPORTED_PREFIX}{remote.proposer or 'unknown'}"
    origin = " ".join((remote.origin or "").split())[:120]
    source = f" (origin: {origin})" if origin else ""
    actions: tuple[ActionCall, ...] = ()
    if is_rejection(tx):
        kind = ProposalKind.REJECTION
        title = f"Safe{{Wallet}} rejection at nonce {tx.nonce}"
    else:
        kind, actions = ProposalKind.CHANGE, decoded_actions(tx, known)
        calls = describe_tx(tx, known)
        first = calls[0].description if len(calls) == 1 else f"{len(calls)} calls"
        title = f"Safe{{Wallet}} transaction at nonce {tx.nonce}: {first}"
        if tx.operation == DELEGATECALL and len(actions) == 1:
            title = f"Safe{{Wallet}} transaction at nonce {tx.nonce}: DELEGATECALL to {tx.to}"
    description = (
        f"Found in the Safe Transaction Service, proposed by {remote.proposer or 'an unknown sender'}{source}."
    )
    new = NewProposal(
        kind=kind, state=ProposalState.PENDING, title=title[:200], description=description, proposer=proposer,
        safe_tx=tx, safe_tx_hash=bytes(remote.safe_tx_hash), actions=actions, expires_at=expires_at,
        rejects=rejects if kind is ProposalKind.REJECTION else None, planned=Planned(warnings=warnings),
    )  # fmt: skip
    describe_stored(_probe(tx, actions) if kind is ProposalKind.CHANGE else _rejection_probe(tx), known)
    return new


def _rejection_probe(tx: SafeTxData) -> Proposal:
    return replace(_probe(tx, ()), kind=ProposalKind.REJECTION)


def expiry(now: datetime, ttl: timedelta | None) -> datetime | None:
    """Return when an imported proposal expires here, like one filed here at `now`."""
    return now + ttl if ttl else None
