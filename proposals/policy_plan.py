"""The diff between a policy file and the chain, as catalogue actions per contract, with what stops booting.

What the chain can tell: which apps are registered, which compose hashes and devices each allows, and
whether it allows any device. What it cannot tell: which OS image, compose hash or device a running
instance uses. So a removal is flagged with the apps that are allowed to boot on it now, and as
certain only where it leaves nothing allowed (the last compose hash of an app, its last device).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress

from proposals.catalogue import Action, Group, get_action, render_value
from proposals.errors import InvalidInput
from proposals.planning import RequestedAction
from proposals.policy_file import APP_FLAGS, APP_SETS, KMS_SETS, AppSpec, PolicySpec
from proposals.policy_state import AppState, ChainPolicy

_KMS_NOUNS = {"osImages": "OS image", "kmsAggregatedMrs": "KMS aggregated MR", "kmsDevices": "KMS device"}
_LIST_AT_MOST = 10


@dataclass(frozen=True)
class PlanStep:
    """One catalogue action the plan would file, with its values as text and what it stops from booting."""

    action: Action
    target: ChecksumAddress
    values: Mapping[str, str]
    impacts: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return self.action.describe(self.values, self.target)

    def requested(self) -> RequestedAction:
        """Return the step as a proposal's requested action."""
        return RequestedAction(self.action, dict(self.values), self.target)


@dataclass(frozen=True)
class ContractPlan:
    """The steps for one contract, and who must sign them (its owner)."""

    target: ChecksumAddress
    group: Group
    owner: ChecksumAddress | None
    steps: tuple[PlanStep, ...]


@dataclass(frozen=True)
class PolicyPlan:
    """Everything `policy plan` shows; `plan_hash` covers the steps and the chain state they came from."""

    kms: ChecksumAddress
    block: int
    contracts: tuple[ContractPlan, ...]
    notes: tuple[str, ...]
    plan_hash: str
    state: ChainPolicy = field(repr=False)

    @property
    def steps(self) -> list[PlanStep]:
        return [s for c in self.contracts for s in c.steps]


def _names(apps: list[ChecksumAddress], gateway: str) -> str:
    shown = [a + (" (the gateway app)" if a.lower() == gateway.lower() else "") for a in apps[:_LIST_AT_MOST]]
    more = f" and {len(apps) - _LIST_AT_MOST} more" if len(apps) > _LIST_AT_MOST else ""
    return ", ".join(shown) + more


class _Planner:
    """Builds the steps of one plan (before -> after, per contract)."""

    def __init__(self, spec: PolicySpec, state: ChainPolicy) -> None:
        self.spec = spec
        self.state = state
        self.after_kms = {k: spec.sets.get(k, state.sets.get(k, frozenset())) for k in KMS_SETS}

    def kms_steps(self) -> list[PlanStep]:
        kms, state = self.state.kms, self.state
        adds: list[PlanStep] = []
        removes: list[PlanStep] = []
        for app in sorted(self.spec.apps):
            if not state.apps[app].registered:
                adds.append(PlanStep(get_action("kms-register-app"), kms, {"appId": app}))
        for key, (param, add, remove) in KMS_SETS.items():
            if key not in self.spec.sets:
                continue
            now, wanted = state.sets.get(key, frozenset()), self.spec.sets[key]
            adds += [PlanStep(get_action(add), kms, {param.name: render_value(v)}) for v in sorted(wanted - now)]
            for value in sorted(now - wanted):
                removes.append(PlanStep(get_action(remove), kms, {param.name: render_value(value)},
                                        self._kms_removal(key, value)))  # fmt: skip
        gateway = self.spec.gateway_app_id
        if gateway is not None and gateway.lower() != state.gateway_app_id.lower():
            impact = f"the gateway app id changes from {state.gateway_app_id or '(unset)'} to {gateway}"
            adds.append(PlanStep(get_action("kms-set-gateway"), kms, {"appId": gateway}, (impact,)))
        return adds + removes

    def _kms_removal(self, key: str, value: bytes) -> tuple[str, ...]:
        noun, shown = _KMS_NOUNS[key], render_value(value)
        left = self.after_kms[key]
        if key == "osImages":
            bootable = [a for a in self.state.registered_apps if self.state.apps[a].can_boot()]
            said = (f"apps still allowed to boot on it: {_names(bootable, self.state.gateway_app_id)}" if bootable
                    else "no registered app is allowed to boot now")  # fmt: skip
            impacts = [f"removes {noun} {shown}: {said}; instances running it, the KMS's own included, can no "
                       "longer boot (the chain does not record which image an instance runs)"]  # fmt: skip
            if not left:
                impacts.append("no OS image stays allowed: no app and no KMS instance can boot")
            return tuple(impacts)
        impacts = [f"removes {noun} {shown}: a KMS instance with it can no longer boot"]
        if not left:
            impacts.append(f"no {noun} stays allowed: no KMS instance can boot")
        return tuple(impacts)

    def app_steps(self, app: ChecksumAddress, spec: AppSpec) -> list[PlanStep]:
        current = self.state.apps[app]
        sets_after = {k: spec.sets.get(k, current.sets.get(k, frozenset())) for k in APP_SETS}
        flags_after = {k: spec.flags.get(k, current.flags.get(k, False)) for k in APP_FLAGS}
        adds: list[PlanStep] = []
        removes: list[PlanStep] = []
        for key, (param, add, remove) in APP_SETS.items():
            if key not in spec.sets:
                continue
            now, wanted = current.sets.get(key, frozenset()), spec.sets[key]
            adds += [PlanStep(get_action(add), app, {param.name: render_value(v)}) for v in sorted(wanted - now)]
            for value in sorted(now - wanted):
                impact = self._app_removal(current, key, value, sets_after, flags_after)
                removes.append(PlanStep(get_action(remove), app, {param.name: render_value(value)}, impact))
        for key, (param, name) in APP_FLAGS.items():
            if key in spec.flags and spec.flags[key] != current.flags.get(key, False):
                impact = self._flag_change(current, key, spec.flags[key], sets_after)
                adds.append(PlanStep(get_action(name), app, {param.name: render_value(spec.flags[key])}, impact))
        return adds + removes

    def _gateway_note(self, app: ChecksumAddress) -> str:
        return " (it is the gateway app)" if app.lower() == self.state.gateway_app_id.lower() else ""

    def _app_removal(
        self, current: AppState, key: str, value: bytes, sets: Mapping[str, frozenset[bytes]], flags: Mapping[str, bool]
    ) -> tuple[str, ...]:
        app, shown, note = current.app, render_value(value), self._gateway_note(current.app)
        stops = current.can_boot() and not current.can_boot(sets, flags)
        if key == "composeHashes":
            if stops:
                return (f"removes compose hash {shown}, the only one app {app} allows: it can no longer boot{note}",)
            return (f"instances of app {app} running compose hash {shown} can no longer boot "
                    f"({len(sets[key])} other hash(es) stay allowed){note}",)  # fmt: skip
        if flags.get("allowAnyDevice"):
            return ()  # the device list is not consulted while any device is allowed
        if stops:
            return (f"removes device {shown}, the last one app {app} allows: it can no longer boot anywhere{note}",)
        return (f"instances of app {app} on device {shown} can no longer boot{note}",)

    def _flag_change(
        self, current: AppState, key: str, wanted: bool, sets: Mapping[str, frozenset[bytes]]
    ) -> tuple[str, ...]:
        app, note = current.app, self._gateway_note(current.app)
        if key == "allowAnyDevice" and not wanted:
            devices = len(sets.get("devices", frozenset()))
            if not devices:
                return (f"app {app} stops allowing any device and lists none: it can no longer boot anywhere{note}",)
            return (f"app {app} then boots only on its {devices} listed device(s){note}",)
        if key == "requireTcbUpToDate" and wanted:
            return (f"instances of app {app} whose TCB is not up to date can no longer boot (the chain does not "
                    f"know which those are){note}",)  # fmt: skip
        return ()


def plan_hash(state: ChainPolicy, steps: list[PlanStep]) -> str:
    """Return the sha256 over the planned actions and the chain state they were computed from."""
    actions = [[s.action.name, s.target, sorted(s.values.items())] for s in steps]
    payload = json.dumps({"state": state.canonical(), "actions": actions}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def build_plan(spec: PolicySpec, state: ChainPolicy) -> PolicyPlan:
    """Diff `spec` against `state` into catalogue actions, grouped by contract, and hash the result."""
    if spec.kms is not None and spec.kms != state.kms:
        raise InvalidInput(f"the policy file is for KMS {spec.kms}, not {state.kms}")
    for app in spec.apps:
        if not state.apps[app].readable:
            raise InvalidInput(f"apps.{app}: does not answer as a DstackApp (no code there, or another contract)")
    planner = _Planner(spec, state)
    contracts = [ContractPlan(state.kms, Group.KMS, state.owner, tuple(planner.kms_steps()))]
    for app in sorted(spec.apps):
        steps = planner.app_steps(app, spec.apps[app])
        contracts.append(ContractPlan(app, Group.APP, state.apps[app].owner, tuple(steps)))
    kept = tuple(c for c in contracts if c.steps)
    notes = []
    unlisted = [a for a in state.registered_apps if a not in spec.apps]
    if unlisted:
        notes.append(f"{len(unlisted)} registered app(s) not in the file are left alone")
    unreadable = [a for a in state.registered_apps if not state.apps[a].readable]
    if unreadable:
        notes.append(f"registered but not readable as a DstackApp: {', '.join(unreadable)}")
    steps = [s for c in kept for s in c.steps]
    return PolicyPlan(state.kms, state.block, kept, tuple(notes), plan_hash(state, steps), state)


def export_spec(state: ChainPolicy) -> PolicySpec:
    """Return the chain's policy as a complete policy file (every section; the gateway when set)."""
    apps = {
        app: AppSpec(dict(current.sets), dict(current.flags))
        for app, current in state.apps.items()
        if current.registered and current.readable
    }
    return PolicySpec(state.kms, dict(state.sets), state.gateway_app_id or None, apps)


def plan_as_dict(plan: PolicyPlan) -> dict[str, Any]:
    """Return the plan as JSON-ready data."""
    return {
        "kms": plan.kms,
        "block": plan.block,
        "planHash": plan.plan_hash,
        "changes": len(plan.steps),
        "contracts": [
            {"contract": c.target, "kind": c.group.value, "owner": c.owner,
             "actions": [{"action": s.action.name, "values": dict(s.values), "description": s.description,
                          "risk": s.action.risk.value, "impacts": list(s.impacts)} for s in c.steps]}
            for c in plan.contracts
        ],
        "notes": list(plan.notes),
    }  # fmt: skip
