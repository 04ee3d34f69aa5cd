"""Declarations shared by the KMS and app groups: ownership, upgrades, parameter shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress

from .model import Action, Finding, Group, Risk, Severity, StateChange, StateReader, Values
from .params import Kind, Param, render_value

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def bytes32_param(name: str, help_text: str) -> Param:
    """Return a required bytes32 parameter."""
    return Param(name, Kind.BYTES32, help_text)


def _ownership_accept_diff(group: Group) -> Any:
    def diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        before = reader.read(group, target, "owner")
        pending = reader.read(group, target, "pendingOwner")
        return [StateChange("owner", before, pending)]

    return diff


def _accept_check(group: Group) -> Any:
    def check(reader: StateReader, target: ChecksumAddress, values: Values) -> list[Finding]:
        if reader.read(group, target, "pendingOwner") == ZERO_ADDRESS:
            return [Finding(Severity.REFUSE, "no ownership transfer is pending")]
        return []

    return check


def _upgrade_diff(group: Group) -> Any:
    def diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        before = reader.read(group, target, "implementation")
        return [StateChange("implementation", render_value(before), render_value(values["newImplementation"]))]

    return diff


def _upgrade_check(reader: StateReader, target: ChecksumAddress, values: Values) -> list[Finding]:
    if not reader.read(Group.SAFE, values["newImplementation"], "has_code"):
        return [Finding(Severity.REFUSE, f"no contract code at {values['newImplementation']}")]
    return []


def _renounce_diff(group: Group) -> Any:
    def diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        return [StateChange("owner", reader.read(group, target, "owner"), f"{ZERO_ADDRESS} (nobody, forever)")]

    return diff


def ownership_actions(group: Group, noun: str) -> Sequence[Action]:
    """Return transfer/accept/renounce ownership and upgrade for a UUPS, Ownable2Step contract."""
    return (
        Action(
            group=group,
            command="transfer-ownership",
            summary=f"Start handing the {noun} to a new owner (it must accept).",
            function="transferOwnership(address)",
            params=(Param("newOwner", Kind.ADDRESS, "the address that will have to accept ownership"),),
            describe_template=f"Offer ownership of the {noun} {{target}} to {{newOwner}}",
            risk=Risk.HIGH,
            custom_diff=lambda r, t, v: [StateChange("pendingOwner", r.read(group, t, "pendingOwner"), v["newOwner"])],
        ),
        Action(
            group=group,
            command="accept-ownership",
            summary=f"Accept a pending ownership transfer of the {noun} (sent by the new owner).",
            function="acceptOwnership()",
            params=(),
            describe_template=f"Accept ownership of the {noun} {{target}}",
            risk=Risk.HIGH,
            custom_diff=_ownership_accept_diff(group),
            custom_check=_accept_check(group),
            caller_getter="pendingOwner",
        ),
        Action(
            group=group,
            command="renounce-ownership",
            summary=f"Give up ownership of the {noun} for good: nobody can change its policy again.",
            function="renounceOwnership()",
            params=(),
            describe_template=f"Renounce ownership of the {noun} {{target}} forever",
            risk=Risk.HIGH,
            custom_diff=_renounce_diff(group),
        ),
        Action(
            group=group,
            command="upgrade",
            summary=f"Upgrade the {noun} proxy to a new implementation (UUPS).",
            function="upgradeToAndCall(address,bytes)",
            params=(
                Param("newImplementation", Kind.ADDRESS, "the new implementation contract"),
                Param("data", Kind.BYTES, "calldata to run after the upgrade", optional=True, default=b""),
            ),
            describe_template=f"Upgrade the {noun} {{target}} to implementation {{newImplementation}}",
            risk=Risk.HIGH,
            custom_diff=_upgrade_diff(group),
            custom_check=_upgrade_check,
        ),
    )
