"""Describe a stored proposal from the actions filed with it, after checking they encode its calldata.

Decoding calldata again would read it through today's configuration: `acceptOwnership()` sent to a KMS
reads as an app action once the config names another KMS. The actions stored when the proposal was filed
(catalogue name, target, parameters) say what it does; they are shown only when they re-encode, call by
call and as the whole MultiSend batch, to exactly the Safe transaction that owners sign.
"""

from __future__ import annotations

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_typing import ChecksumAddress

from proposals.catalogue import Action, get_action, render_value
from proposals.decode import DescribedCall, Known, describe_tx
from proposals.errors import ActionsMismatch, InvalidInput
from proposals.models import ActionCall, Proposal, ProposalKind, SafeTxData
from proposals.safe_tx import CALL, DELEGATECALL, multi_send_data, unbatch
from proposals.undecoded import UNDECODED, undecoded_call

InnerCall = tuple[ChecksumAddress, int, bytes, int]  # to, value, data, operation


def describe_stored(proposal: Proposal, known: Known) -> list[DescribedCall]:
    """Return the calls of `proposal` described from its stored actions; ActionsMismatch if they disagree."""
    tx = proposal.safe_tx
    if proposal.kind is ProposalKind.REJECTION:
        if proposal.actions or tx.to.lower() != tx.safe.lower() or tx.data or tx.value or tx.operation != CALL:
            raise _mismatch(proposal, "a rejection must be a call to its own Safe with no data and no value")
        return describe_tx(tx, known)
    if not proposal.actions:
        raise _mismatch(proposal, "no actions are stored with it")
    inner = _inner_calls(proposal, known)
    described = []
    for index, (call, (to, value, data, operation)) in enumerate(zip(proposal.actions, inner, strict=True), start=1):
        if call.action == UNDECODED:
            described.append(_undecoded(proposal, index, call, (to, value, data, operation)))
            continue
        action, values = _typed(proposal, index, call)
        if to.lower() != call.target.lower() or value != 0 or operation != CALL:
            raise _mismatch(proposal, f"action {index} is stored for {call.target}, but call {index} "
                                      f"goes to {to} (value {value}, operation {operation})")  # fmt: skip
        if _reencode(action, values, data) != data:
            raise _mismatch(proposal, f"action {index} ({action.name}) does not encode to call {index}")
        rendered = {k: render_value(v) for k, v in values.items()}
        described.append(DescribedCall(to, 0, CALL, action.describe(values, to), action.name, action.risk, rendered))
    if len(inner) > 1 and (multi_send_data(inner) != tx.data or tx.value != 0):
        raise _mismatch(proposal, "the MultiSend batch is not the stored actions' batch")
    return described


def _undecoded(proposal: Proposal, index: int, call: ActionCall, inner: InnerCall) -> DescribedCall:
    """Describe a call stored as undecoded: only when its stored target, value, operation and data are the call."""
    stored = undecoded_call(call)
    to, value, data, operation = inner
    if stored is None or (stored.to.lower(), stored.value, stored.operation, stored.data) != (
        to.lower(), value, operation, data
    ):  # fmt: skip
        raise _mismatch(proposal, f"action {index} is stored undecoded, but not as call {index} is")
    return stored.described


def _inner_calls(proposal: Proposal, known: Known) -> list[InnerCall]:
    """Return the Safe tx's calls: itself for one action, the MultiSend batch's entries for several."""
    tx: SafeTxData = proposal.safe_tx
    count = len(proposal.actions)
    if count == 1:
        return [(tx.to, tx.value, bytes(tx.data), tx.operation)]
    multi_send = {a.lower() for a in known.multi_send}
    if tx.operation != DELEGATECALL or tx.to.lower() not in multi_send:
        wanted = ", ".join(known.multi_send)
        raise _mismatch(
            proposal,
            f"{count} actions need a DELEGATECALL to the configured MultiSendCallOnly ({wanted}), "
            f"not operation {tx.operation} to {tx.to}",
        )
    inner = unbatch(tx.to, tx.data, tx.operation, [tx.to], tx.value)
    if len(inner) != count:
        raise _mismatch(proposal, f"{count} actions are stored, but the batch holds {len(inner)} call(s)")
    return inner


def _typed(proposal: Proposal, index: int, call: ActionCall) -> tuple[Action, dict[str, object]]:
    try:
        action = get_action(call.action)
        return action, action.parse(dict(call.values))
    except InvalidInput as exc:
        raise _mismatch(proposal, f"action {index} cannot be read back: {exc.message}") from None


def _reencode(action: Action, values: dict[str, object], data: bytes) -> bytes | None:
    """Return the calldata `values` encode to; None when they cannot."""
    try:
        return action.encode(values)
    except InvalidInput:
        pass  # this action's encoding reads the chain (removeOwner's prevOwner): check the other way round
    except EncodingError:
        return None
    if data[:4] != action.selector:
        return None
    try:
        arguments = decode(list(action.arg_types), data[4:])
        decoded = action.decode(data)
    except (DecodingError, ValueError, TypeError, KeyError, IndexError):
        return None
    # The described values are exactly what the call carries, and the call is their canonical encoding.
    if decoded != values:
        return None
    return action.selector + encode(list(action.arg_types), list(arguments))


def _mismatch(proposal: Proposal, reason: str) -> ActionsMismatch:
    return ActionsMismatch(
        f"proposal #{proposal.id}: its stored actions do not match the calldata ({reason}); "
        "it is neither shown nor signed"
    )
