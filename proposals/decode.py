"""Describe any Safe transaction in words, ours or made elsewhere, using the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress

from proposals.catalogue import Group, Risk, decode_call, render_value
from proposals.models import SafeTxData
from proposals.safe_tx import CALL, DELEGATECALL, unbatch


@dataclass(frozen=True)
class DescribedCall:
    """One inner call of a Safe tx, in words."""

    to: ChecksumAddress
    value: int
    operation: int
    description: str
    action: str | None
    risk: Risk
    values: dict[str, str]


@dataclass(frozen=True)
class Known:
    """Addresses that give calls their meaning."""

    kms: ChecksumAddress | None
    multi_send: tuple[str, ...]


def _group_for(to: ChecksumAddress, safe: ChecksumAddress, known: Known) -> Group | None:
    if to.lower() == safe.lower():
        return Group.SAFE
    if known.kms is not None and to.lower() == known.kms.lower():
        return Group.KMS
    return Group.APP  # anything else with an app selector is read as an app contract


def describe_tx(tx: SafeTxData, known: Known) -> list[DescribedCall]:
    """Return the calls a Safe tx makes, decoded through the catalogue where possible."""
    calls = unbatch(tx.to, tx.data, tx.operation, known.multi_send, tx.value)
    if tx.to.lower() == tx.safe.lower() and not tx.data and tx.value == 0:
        return [DescribedCall(tx.to, 0, CALL, f"Reject: do nothing at nonce {tx.nonce} (cancels what shares it)",
                              None, Risk.LOW, {})]  # fmt: skip
    described = []
    for to, value, data, operation in calls:
        decoded = decode_call(_group_for(to, tx.safe, known), data) if len(data) >= 4 else None
        if operation == DELEGATECALL:
            described.append(DescribedCall(to, value, operation,
                                           f"DELEGATECALL to {to}: it runs with the Safe's full authority",
                                           None, Risk.HIGH, {}))  # fmt: skip
            continue
        if decoded is not None and decoded.action is not None:
            action = decoded.action
            rendered = {k: render_value(v) for k, v in decoded.values.items()}
            text = action.describe(decoded.values, to)
            described.append(DescribedCall(to, value, operation, text, action.name, action.risk, rendered))
            continue
        selector = "0x" + data[:4].hex() if data else "no data"
        text = f"Unknown call to {to} ({selector}, {len(data)} bytes)"
        if value:
            text += f" sending {value} wei"
        described.append(DescribedCall(to, value, operation, text, None, Risk.HIGH if data else Risk.MEDIUM, {}))
    return described


def risk_warnings(tx: SafeTxData, calls: Sequence[DescribedCall], known: Known) -> list[str]:
    """Return the warnings signers must see: high-risk actions and stray delegatecalls."""
    warnings = []
    if tx.operation == DELEGATECALL and tx.to.lower() not in {a.lower() for a in known.multi_send}:
        warnings.append(f"DELEGATECALL to {tx.to}, which is not MultiSendCallOnly")
    for call in calls:
        if call.risk is Risk.HIGH and call.operation != DELEGATECALL:
            warnings.append(f"high risk: {call.description}")
    return warnings
