"""Calls stored as they are, undecoded: what a transaction filed elsewhere does when the catalogue can't say.

A Safe{Wallet} transaction may call a contract or a function the catalogue does not know. It is stored
as the action `undecoded` with its exact target, value, operation and calldata, and shown as high risk
in those terms only: the stored-actions check accepts it only when those are exactly the call, so a
signer never sees another action than the calldata.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.catalogue import Risk
from proposals.decode import DescribedCall
from proposals.models import ActionCall
from proposals.safe_tx import DELEGATECALL

UNDECODED = "undecoded"


@dataclass(frozen=True)
class UndecodedCall:
    """A stored undecoded call read back, and how it is shown."""

    to: ChecksumAddress
    value: int
    operation: int
    data: bytes
    described: DescribedCall


def undecoded_action(to: ChecksumAddress, value: int, data: bytes, operation: int) -> ActionCall:
    """Return the stored form of a call the catalogue does not decode."""
    return ActionCall(UNDECODED, to, {"value": str(value), "operation": str(operation), "data": "0x" + data.hex()})


def describe_undecoded(to: ChecksumAddress, value: int, data: bytes, operation: int) -> str:
    """Return the words for an undecoded call: target, selector, size, value, and a delegatecall's danger."""
    what = f"selector 0x{data[:4].hex()}, {len(data)} bytes of calldata" if data else "no calldata"
    text = f"Undecoded call to {to} ({what})"
    if value:
        text += f" sending {value} wei"
    if operation == DELEGATECALL:
        text += ": a DELEGATECALL, it runs with the Safe's full authority"
    return text


def undecoded_call(call: ActionCall) -> UndecodedCall | None:
    """Read a stored undecoded call back; None when its values are not exactly the stored form."""
    values = dict(call.values)
    if set(values) != {"value", "operation", "data"}:
        return None
    value, operation, data = str(values["value"]), str(values["operation"]), str(values["data"])
    if not value.isdigit() or operation not in ("0", "1") or not data.startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(data[2:])
    except ValueError:
        return None
    to = Web3.to_checksum_address(call.target)
    if undecoded_action(to, int(value), raw, int(operation)) != ActionCall(UNDECODED, call.target, values):
        return None  # not canonical (leading zeros, upper-case hex): never show a rewritten form
    text = describe_undecoded(to, int(value), raw, int(operation))
    described = DescribedCall(to, int(value), int(operation), text, None, Risk.HIGH, {})
    return UndecodedCall(to, int(value), int(operation), raw, described)
