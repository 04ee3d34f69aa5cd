"""Turn a change request (one or more catalogue actions) into one simulated Safe transaction."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress

from proposals.catalogue import Action, Finding, Group, Severity, StateChange, get_action, parse_address, render_value
from proposals.chain import ChainReader
from proposals.compose import ComposeFile
from proposals.compose_review import allowed_now, attach_compose
from proposals.errors import ChainError, Conflict, InvalidInput, Unauthorized
from proposals.models import MAX_ID, ActionCall, ComposeRecord, Planned, PlannedChange, SafeTxData
from proposals.safe_tx import (
    SafeState,
    SafeTxHashes,
    Simulation,
    batch_call,
    new_safe_tx_data,
    read_safe_state,
    safe_tx_hashes,
    simulate,
)

MAX_ACTIONS = 50  # a batch this size is already hard for signers to review
# How far ahead of the Safe's nonce a proposer may pick one without forcing it: a Safe executes its
# nonces in order, so a proposal 100 ahead waits for 100 other transactions first.
NONCE_WINDOW = 100


@dataclass(frozen=True)
class RequestedAction:
    """One action as a proposer asked for it: raw values, and the app for app actions."""

    action: Action
    values: Mapping[str, Any]
    target: str | None = None
    # The app-compose.json behind the compose hash (app add-hash), as its exact bytes.
    compose: bytes | None = None


@dataclass(frozen=True)
class ChangeRequest:
    """What a proposer wants changed."""

    title: str
    actions: tuple[RequestedAction, ...]
    description: str = ""


@dataclass(frozen=True)
class PlannedAction:
    """An action resolved against the chain: target, typed values, calldata, checks and diff."""

    action: Action
    target: ChecksumAddress
    values: dict[str, Any]
    calldata: bytes
    findings: tuple[Finding, ...]
    changes: tuple[StateChange, ...]
    compose: ComposeFile | None = None
    # The app's most recently allowed compose hash now (what the review diffs against).
    compose_base: bytes | None = None

    def to_call(self) -> ActionCall:
        """Return the storable form (values rendered as strings)."""
        return ActionCall(self.action.name, self.target, {k: render_value(v) for k, v in self.values.items()})

    @property
    def description(self) -> str:
        return self.action.describe(self.values, self.target)


@dataclass(frozen=True)
class Plan:
    """A ready-to-announce Safe transaction and everything signers should see about it."""

    safe: SafeState
    actions: tuple[PlannedAction, ...]
    tx: SafeTxData
    hashes: SafeTxHashes
    simulation: Simulation
    warnings: tuple[str, ...] = field(default=())

    @property
    def planned(self) -> Planned:
        """Return the diff and warnings to store with the proposal (each change names its action's index)."""
        changes = tuple(PlannedChange(a.action.name, c.label, c.before, c.after, index)
                        for index, a in enumerate(self.actions) for c in a.changes)  # fmt: skip
        return Planned(changes, self.warnings, self.simulation.gas_used)

    @property
    def composes(self) -> tuple[ComposeRecord, ...]:
        """Return the app-compose.json files to store with the proposal, by action index."""
        return tuple(ComposeRecord(index, a.target, a.values[str(a.action.compose_param)], a.compose.raw,
                                   a.compose_base)
                     for index, a in enumerate(self.actions) if a.compose is not None)  # fmt: skip


def action_from_call(call: ActionCall) -> tuple[Action, dict[str, Any]]:
    """Rebuild typed values from a stored ActionCall."""
    action = get_action(call.action)
    return action, action.parse(dict(call.values))


def check_nonce(nonce: int, safe_nonce: int, *, window: int, force: bool) -> None:
    """Refuse a nonce already used, beyond what the store keeps, or over `window` ahead unless forced."""
    if nonce < safe_nonce:
        raise InvalidInput(f"nonce {nonce} is already used (the Safe is at nonce {safe_nonce})")
    if nonce > MAX_ID:
        # A Safe's nonce grows by one per transaction: it never gets there, so no force helps.
        raise InvalidInput(f"nonce {nonce} can never execute (the Safe is at nonce {safe_nonce})")
    if nonce - safe_nonce > window and not force:
        raise InvalidInput(
            f"nonce {nonce} is {nonce - safe_nonce} ahead of the Safe (at nonce {safe_nonce}); it executes only "
            f"after that many other transactions (at most {window} ahead unless forced)"
        )


def next_free_nonce(chain_nonce: int, reserved: set[int]) -> int:
    """Return the smallest nonce >= the Safe's that no open proposal holds."""
    nonce = chain_nonce
    while nonce in reserved:
        nonce += 1
    return nonce


class Planner:
    """Resolves targets and Safes, prechecks, encodes, batches and simulates."""

    def __init__(
        self,
        reader: ChainReader,
        *,
        known_safes: Sequence[ChecksumAddress],
        multi_send: ChecksumAddress,
        simulate_accessor: ChecksumAddress,
        nonce_window: int = NONCE_WINDOW,
    ) -> None:
        self.reader = reader
        self.nonce_window = nonce_window
        self.known_safes = tuple(known_safes)
        self.multi_send = multi_send
        self.simulate_accessor = simulate_accessor

    def resolve_target(self, requested: RequestedAction) -> ChecksumAddress:
        """Return the contract an action is sent to."""
        group = requested.action.group
        if group is Group.APP:
            if not requested.target:
                raise InvalidInput(f"{requested.action.name}: which app? (give the app address)")
            return parse_address(requested.target, f"{requested.action.name}: app")
        if group is Group.SAFE:
            if requested.target:
                return parse_address(requested.target, f"{requested.action.name}: safe")
            if len(self.known_safes) == 1:
                return self.known_safes[0]
            raise InvalidInput(f"{requested.action.name}: which Safe? (give the Safe address)")
        if requested.target:
            return parse_address(requested.target, f"{requested.action.name}: kms")
        if self.reader.kms is None:
            raise InvalidInput("no KMS configured (set contracts.kms or pass --kms)")
        return self.reader.kms

    def safe_of(self, action: Action, target: ChecksumAddress, reader: ChainReader | None = None) -> ChecksumAddress:
        """Return the known Safe that must sign for `action` on `target` (the target's owner)."""
        reader = reader or self.reader
        if action.group is Group.SAFE:
            owner = target
        else:
            reader.require_code(target, f"{action.group.value} contract")
            owner = parse_address(reader.read(action.group, target, action.caller_getter), action.caller_getter)
        if owner.lower() not in {s.lower() for s in self.known_safes}:
            kind = "a contract" if reader.has_code(owner) else "an account"
            role = "owned" if action.caller_getter == "owner" else f"waiting for {action.caller_getter}"
            raise InvalidInput(
                f"{target} is {role} by {owner} ({kind}), which is not a Safe this project knows "
                "(add it to [[safes]] in the config, or use direct mode with its key)"
            )
        return owner

    def prepare(
        self, requested: RequestedAction, reader: ChainReader | None = None
    ) -> tuple[PlannedAction, ChecksumAddress]:
        """Resolve, validate, precheck and encode one action; return it with its Safe."""
        reader = reader or self.reader
        action = requested.action
        target = self.resolve_target(requested)
        raw, compose = requested.values, None
        if requested.compose is not None:
            raw, compose = attach_compose(action, raw, requested.compose, source=f"{action.name}: app-compose.json")
        values = action.parse(raw)
        safe = self.safe_of(action, target, reader)
        values = action.complete(values, reader, target)
        findings = tuple(action.precheck(reader, target, values))
        changes = tuple(action.diff(reader, target, values))
        calldata = action.encode(values, reader, target)
        base = allowed_now(reader, target) if compose is not None else None
        return PlannedAction(action, target, values, calldata, findings, changes, compose, base), safe

    def plan(self, request: ChangeRequest, reserved_nonces: Callable[[ChecksumAddress], set[int]], *,
             force: bool = False, nonce: int | None = None,
             within: Collection[str] | None = None) -> Plan:  # fmt: skip
        """Build the Safe tx for `request`; refuse on precheck findings (unless forced) or a failing simulation.

        With `within`, a change whose Safe is not one of those is refused (Unauthorized) before its prechecks count.
        """
        if not request.title.strip():
            raise InvalidInput("a proposal needs a title")
        if not request.actions:
            raise InvalidInput("a proposal needs at least one action")
        if len(request.actions) > MAX_ACTIONS:
            raise InvalidInput(f"too many actions ({len(request.actions)}); at most {MAX_ACTIONS} per proposal")
        reader = self.reader.snapshot()  # one plan reads each view call once
        prepared = [self.prepare(r, reader) for r in request.actions]
        safes = {safe for _, safe in prepared}
        if len(safes) > 1:
            raise InvalidInput(f"the actions need different Safes ({', '.join(sorted(safes))}); split the proposal")
        if within is not None and not {s.lower() for s in safes} <= {s.lower() for s in within}:
            raise Unauthorized(
                f"this change is for Safe {next(iter(safes))}, which is not among the Safes served here; "
                "propose it where that Safe's signers meet"
            )
        refusals = [f"{p.action.name}: {f.message}" for p, _ in prepared for f in p.findings
                    if f.severity is Severity.REFUSE]  # fmt: skip
        if refusals and not force:
            raise Conflict(f"{refusals[0]} (force it to propose anyway)")
        state = read_safe_state(self.reader.w3, safes.pop())
        chosen = nonce if nonce is not None else next_free_nonce(state.nonce, reserved_nonces(state.address))
        check_nonce(chosen, state.nonce, window=self.nonce_window, force=force or nonce is None)
        actions = tuple(p for p, _ in prepared)
        to, data, operation = batch_call([(a.target, a.calldata) for a in actions], self.multi_send)
        tx = new_safe_tx_data(state, to, data, operation, chosen)
        simulation = simulate(self.reader.w3, tx, self.simulate_accessor)
        if not simulation.success:
            raise ChainError(f"the proposal would revert: {simulation.reason}")
        warnings = tuple(f"{a.action.name}: {f.message}" for a in actions for f in a.findings
                         if f.severity is Severity.WARN) + tuple(refusals)  # fmt: skip
        return Plan(state, actions, tx, safe_tx_hashes(tx), simulation, warnings)

    def plan_rejection(self, safe: ChecksumAddress, nonce: int) -> Plan:
        """Build the Safe-style rejection: a no-op call to the Safe itself at `nonce`."""
        state = read_safe_state(self.reader.w3, safe)
        tx = new_safe_tx_data(state, safe, b"", 0, nonce)
        return Plan(state, (), tx, safe_tx_hashes(tx), Simulation(True, 0, ""))
