"""Drift: where a KMS's chain policy departs from the last applied policy file, or changed outside dstack-gov.

Two rules, item by item (an item is one whitelist entry, one app's registration, or one setting):

- an item the last applied file covers (its section is present) drifts when the chain differs from the
  file, unless an open proposal would make it match (that is pending, not drift);
- any other item drifts when its last change after the baseline (the block the file was planned at, or
  when dstack-gov first looked, if no file was ever applied) came from a transaction that did not come
  through dstack-gov, and its value differs from what it was at the baseline.

Each drifted item names the block and the transaction of its last change, and whether that transaction
executed a dstack-gov proposal (or was sent by `policy apply --direct`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

from eth_typing import ChecksumAddress

from proposals.policy_file import APP_FLAGS, APP_SETS, KMS_SETS, AppliedPolicy, PolicySpec
from proposals.policy_plan import PlanStep, build_plan
from proposals.policy_state import ADDED, ChainPolicy, Event

NOUNS = {
    "osImages": "OS image", "kmsAggregatedMrs": "KMS aggregated MR", "kmsDevices": "KMS device",
    "apps": "registered app", "gatewayAppId": "gateway app id", "composeHashes": "compose hash", "devices": "device",
    "allowAnyDevice": "allow any device", "requireTcbUpToDate": "require TCB up to date",
}  # fmt: skip
# Which proposal action (name, target, values) is open: a difference it would settle is pending.
OpenAction = tuple[str, str, tuple[tuple[str, str], ...]]
Lookup = Callable[[set[bytes]], dict[bytes, str]]


@dataclass(frozen=True)
class DriftItem:
    """One item that drifted, and the last change to it."""

    contract: ChecksumAddress
    owner: ChecksumAddress | None
    field: str
    value: str
    wanted: str | None  # what the applied file says; None: the file does not cover it
    actual: str
    block: int | None
    tx_hash: bytes | None
    via: str | None  # "proposal #N" or "policy apply --direct"; None: outside dstack-gov

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.contract, self.field, self.value)

    def describe(self) -> str:
        """Say in one line what differs (the caller adds where the change came from)."""
        what = f"{NOUNS[self.field]} {self.value}".strip()
        on = "" if self.contract == self.value else f" on {self.contract}"
        if self.wanted is None:
            return f"{what}{on}: now {self.actual} (changed, and not by a policy file)"
        return f"{what}{on}: {self.actual}, the applied policy says {self.wanted}"


@dataclass(frozen=True)
class DriftReport:
    """The drift of one KMS at `block`."""

    kms: ChecksumAddress
    kms_owner: ChecksumAddress
    block: int
    since_block: int
    applied: AppliedPolicy | None
    items: tuple[DriftItem, ...]
    pending: tuple[str, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.items)

    def fingerprint(self) -> str:
        """Return a digest of what drifted (the same drift reads the same at any later block)."""
        keys = sorted([*item.key, item.actual] for item in self.items)
        return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def _step_item(step: PlanStep, state: ChainPolicy) -> tuple[str, str, str, str]:
    """Return (field, value, wanted, actual) of the difference a plan step would settle."""
    name = step.action.name
    for key, (param, add, remove) in (KMS_SETS | APP_SETS).items():
        if name in (add, remove):
            on, off = ("allowed", "not allowed") if name == add else ("not allowed", "allowed")
            return key, step.values[param.name], on, off
    if name == "kms-register-app":
        return "apps", step.values["appId"], "registered", "not registered"
    if name == "kms-set-gateway":
        return "gatewayAppId", "", step.values["appId"], state.gateway_app_id or "(unset)"
    key, (param, _) = next((k, f) for k, f in APP_FLAGS.items() if f[1] == name)
    wanted = step.values[param.name]
    return key, "", wanted, "false" if wanted == "true" else "true"


def _covers(spec: PolicySpec | None, state: ChainPolicy, contract: str, field: str, value: str) -> bool:
    if spec is None:
        return False
    if contract == state.kms:
        if field == "apps":
            return value in spec.apps
        return field in spec.sets if field in KMS_SETS else spec.gateway_app_id is not None
    app = spec.apps.get(contract)  # type: ignore[call-overload]
    return app is not None and (field in app.sets or field in app.flags)


def _current(state: ChainPolicy, contract: str, field: str, value: str) -> str:
    """Return the item's value on chain now, as text."""
    if contract == state.kms:
        if field == "apps":
            app = state.apps.get(value)  # type: ignore[call-overload]
            return "registered" if app is not None and app.registered else "not registered"
        if field == "gatewayAppId":
            return state.gateway_app_id or "(unset)"
        return "allowed" if bytes.fromhex(value[2:]) in state.sets.get(field, frozenset()) else "not allowed"
    app = state.apps[contract]  # type: ignore[index]
    if field in APP_FLAGS:
        return "true" if app.flags.get(field, False) else "false"
    return "allowed" if bytes.fromhex(value[2:]) in app.sets.get(field, frozenset()) else "not allowed"


def _replayed(events: list[Event], field: str) -> str:
    """Return the item's value after `events` (oldest first), as `_current` words it."""
    if field in APP_FLAGS:
        return events[-1].state if events else "false"
    if field == "gatewayAppId":
        return (events[-1].state if events else "") or "(unset)"
    last = events[-1].state if events else None
    if field == "apps":
        return "registered" if last == ADDED else "not registered"
    return "allowed" if last == ADDED else "not allowed"


Found = tuple[str, str, str, str | None, str]  # contract, field, value, wanted (None: not covered), actual


def _against_file(
    state: ChainPolicy, spec: PolicySpec, open_actions: Collection[OpenAction]
) -> tuple[list[Found], list[str]]:
    """Return the items where the chain differs from the file, and the differences open proposals would settle."""
    found: list[Found] = []
    pending: list[str] = []
    for step in build_plan(spec, state).steps:
        field, value, wanted, actual = _step_item(step, state)
        if (step.action.name, step.target, tuple(sorted(step.values.items()))) in open_actions:
            pending.append(step.description)
        else:
            found.append((step.target, field, value, wanted, actual))
    return found, pending


def _changed_since(
    state: ChainPolicy, spec: PolicySpec | None, history: dict[tuple[str, str, str], list[Event]], since_block: int
) -> list[Found]:
    """Return the items the file does not cover whose value changed after `since_block`."""
    found: list[Found] = []
    for (contract, field, value), events in history.items():
        if not any(e.block > since_block for e in events) or _covers(spec, state, contract, field, value):
            continue
        before = _replayed([e for e in events if e.block <= since_block], field)
        now = _current(state, contract, field, value)
        if now != before:
            found.append((contract, field, value, None, now))
    return found


def compute_drift(
    state: ChainPolicy,
    applied: AppliedPolicy | None,
    since_block: int,
    lookup: Lookup,
    open_actions: Collection[OpenAction],
) -> DriftReport:
    """Compare `state` with the applied policy and with the changes dstack-gov made (see the module docstring)."""
    history: dict[tuple[str, str, str], list[Event]] = {}
    for change in state.events:
        history.setdefault(change.key, []).append(change)
    spec = applied.spec if applied is not None else None
    found, pending = _against_file(state, spec, open_actions) if spec is not None else ([], [])
    found += _changed_since(state, spec, history, since_block)
    last = {key: events[-1] for key, events in history.items()}
    hashes = {last[f[:3]].tx_hash for f in found if f[:3] in last}
    ours = lookup(hashes) if hashes else {}
    items = []
    for contract, field, value, wanted, actual in found:
        event = last.get((contract, field, value))
        owner = state.owner if contract == state.kms else state.apps[contract].owner  # type: ignore[index]
        via = ours.get(event.tx_hash) if event is not None else None
        if wanted is None and via is not None:
            continue  # a change dstack-gov made is not drift unless a policy file says otherwise
        items.append(DriftItem(contract, owner, field, value, wanted, actual,  # type: ignore[arg-type]
                               event.block if event else None, event.tx_hash if event else None, via))  # fmt: skip
    items.sort(key=lambda i: (i.contract != state.kms, i.contract, i.field, i.value))
    return DriftReport(state.kms, state.owner, state.block, since_block, applied, tuple(items), tuple(pending))
