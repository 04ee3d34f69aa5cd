"""The Safe's own settings: owners and threshold. Their target is the Safe itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress

from proposals.errors import InvalidInput

from .model import Action, Finding, Group, Risk, Severity, StateChange, StateReader, Values
from .params import Kind, Param

SAFE = Group.SAFE
# The Safe keeps owners in a linked list that starts and ends at this sentinel.
SENTINEL_OWNERS = "0x0000000000000000000000000000000000000001"


def _owners(reader: StateReader, safe: ChecksumAddress) -> list[str]:
    return [str(o) for o in reader.read(SAFE, safe, "getOwners")]


def previous_owner(owners: Sequence[str], owner: str) -> str:
    """Return the linked-list predecessor of `owner`, which removeOwner/swapOwner need."""
    lowered = [o.lower() for o in owners]
    if owner.lower() not in lowered:
        raise InvalidInput(f"{owner} is not an owner of this Safe")
    index = lowered.index(owner.lower())
    return SENTINEL_OWNERS if index == 0 else owners[index - 1]


def _need_reader(reader: StateReader | None, target: ChecksumAddress | None) -> tuple[StateReader, ChecksumAddress]:
    if reader is None or target is None:
        raise InvalidInput("this action needs the Safe's current owners to encode")
    return reader, target


def _remove_abi(values: Values, reader: StateReader | None, target: ChecksumAddress | None) -> tuple[Any, ...]:
    reader, target = _need_reader(reader, target)
    prev = previous_owner(_owners(reader, target), values["owner"])
    return (prev, values["owner"], values["threshold"])


def _swap_abi(values: Values, reader: StateReader | None, target: ChecksumAddress | None) -> tuple[Any, ...]:
    reader, target = _need_reader(reader, target)
    prev = previous_owner(_owners(reader, target), values["oldOwner"])
    return (prev, values["oldOwner"], values["newOwner"])


def _owners_after(before: list[str], values: Values, command: str) -> list[str]:
    if command == "add-owner":
        return [values["owner"], *before]
    if command == "remove-owner":
        return [o for o in before if o.lower() != values["owner"].lower()]
    if command == "swap-owner":
        return [values["newOwner"] if o.lower() == values["oldOwner"].lower() else o for o in before]
    return before


def _diff(command: str) -> Any:
    def diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        owners = _owners(reader, target)
        threshold = int(reader.read(SAFE, target, "getThreshold"))
        after_owners = _owners_after(owners, values, command)
        new_threshold = values.get("threshold", threshold)
        changes = []
        if after_owners != owners:
            changes.append(StateChange("owners", ", ".join(owners), ", ".join(after_owners)))
        changes.append(
            StateChange("threshold", f"{threshold} of {len(owners)}", f"{new_threshold} of {len(after_owners)}")
        )
        return changes

    return diff


def _check(command: str) -> Any:
    def check(reader: StateReader, target: ChecksumAddress, values: Values) -> list[Finding]:
        owners = _owners(reader, target)
        lowered = [o.lower() for o in owners]
        findings = []
        for key in ("owner", "newOwner"):
            if key in values and command in ("add-owner", "swap-owner") and values[key].lower() in lowered:
                findings.append(Finding(Severity.REFUSE, f"{values[key]} is already an owner"))
        for key in ("oldOwner",) if command == "swap-owner" else ("owner",) if command == "remove-owner" else ():
            if values[key].lower() not in lowered:
                findings.append(Finding(Severity.REFUSE, f"{values[key]} is not an owner"))
        after = len(_owners_after(owners, values, command))
        threshold = values.get("threshold")
        if threshold is not None and not 1 <= threshold <= after:
            findings.append(Finding(Severity.REFUSE, f"threshold must be between 1 and {after}"))
        if command == "change-threshold" and threshold == int(reader.read(SAFE, target, "getThreshold")):
            findings.append(Finding(Severity.REFUSE, f"threshold is already {threshold}"))
        return findings

    return check


_THRESHOLD = Param("threshold", Kind.UINT, "the number of signatures needed afterwards")

SAFE_ACTIONS: Sequence[Action] = (
    Action(SAFE, "add-owner", "Add a Safe owner and set the threshold.", "addOwnerWithThreshold(address,uint256)",
           (Param("owner", Kind.ADDRESS, "the new owner"), _THRESHOLD),
           "Add owner {owner} to Safe {target}, threshold {threshold}", risk=Risk.HIGH,
           custom_diff=_diff("add-owner"), custom_check=_check("add-owner")),
    Action(SAFE, "remove-owner", "Remove a Safe owner and set the threshold.",
           "removeOwner(address,address,uint256)",
           (Param("owner", Kind.ADDRESS, "the owner to remove"), _THRESHOLD),
           "Remove owner {owner} from Safe {target}, threshold {threshold}", risk=Risk.HIGH,
           to_abi=_remove_abi, from_abi=lambda raw: {"owner": raw[1], "threshold": raw[2]},
           custom_diff=_diff("remove-owner"), custom_check=_check("remove-owner")),
    Action(SAFE, "swap-owner", "Replace one Safe owner with another.", "swapOwner(address,address,address)",
           (Param("oldOwner", Kind.ADDRESS, "the owner to replace"),
            Param("newOwner", Kind.ADDRESS, "the replacement")),
           "Replace owner {oldOwner} with {newOwner} in Safe {target}", risk=Risk.HIGH,
           to_abi=_swap_abi, from_abi=lambda raw: {"oldOwner": raw[1], "newOwner": raw[2]},
           custom_diff=_diff("swap-owner"), custom_check=_check("swap-owner")),
    Action(SAFE, "change-threshold", "Change how many owners must sign.", "changeThreshold(uint256)",
           (_THRESHOLD,), "Set the threshold of Safe {target} to {threshold}", risk=Risk.HIGH,
           custom_diff=_diff("change-threshold"), custom_check=_check("change-threshold")),
)  # fmt: skip

__all__ = ["SAFE_ACTIONS", "SENTINEL_OWNERS", "previous_owner"]
