"""Direct mode: run one catalogue action with a key that owns the target contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import Receipt, TransactionReverted, TransactionSender
from proposals.catalogue import Action, Finding, Group, Severity, StateChange
from proposals.chain import ChainReader
from proposals.errors import Conflict, InvalidInput, Unauthorized, translate_chain_errors


@dataclass(frozen=True)
class DirectResult:
    """What a directly sent action did."""

    action: Action
    target: ChecksumAddress
    values: dict[str, Any]
    receipt: Receipt
    changes: tuple[StateChange, ...]
    warnings: tuple[str, ...]
    app_id: ChecksumAddress | None = None


def refusals(findings: list[Finding]) -> list[str]:
    """Return the messages of findings that refuse the action."""
    return [f.message for f in findings if f.severity is Severity.REFUSE]


def created_app_id(reader: ChainReader, kms: ChecksumAddress, receipt: Receipt) -> ChecksumAddress | None:
    """Return the App ID from an AppDeployedViaFactory event in `receipt`, if any."""
    event = reader.contract(Group.KMS, kms).events.AppDeployedViaFactory()
    for log in receipt.logs:
        if log["address"] != kms:
            continue
        try:
            return Web3.to_checksum_address(event.process_log(log)["args"]["appId"])
        except Exception:  # noqa: BLE001, S112 - other events of the KMS do not match this ABI entry
            continue
    return None


class DirectRunner:
    """Prechecks, simulates, sends and reports one action signed by a local key."""

    def __init__(self, reader: ChainReader, sender: TransactionSender) -> None:
        self.reader = reader
        self.sender = sender

    def _check_owner(self, action: Action, target: ChecksumAddress, calldata: bytes) -> None:
        """Simulate as the key; a non-owner is told so before anything is sent."""
        try:
            self.sender.simulate(target, calldata)
        except TransactionReverted as exc:
            if exc.reason.startswith("OwnableUnauthorizedAccount") and not action.permissionless:
                owner = self.reader.owner_of(action.group, target)
                kind = "a Safe: propose it with --via-safe" if self.reader.has_code(owner) else "an account"
                raise Unauthorized(
                    f"the key {self.sender.address} is not the owner of {target}; the owner is {owner} ({kind})"
                ) from None
            raise

    def run(
        self, action: Action, target: ChecksumAddress, values: dict[str, Any], *, force: bool = False
    ) -> DirectResult:
        """Run `action` on `target`; refuse on precheck findings unless `force`."""
        if action.group is Group.SAFE:
            raise InvalidInput("Safe settings change only through a Safe transaction (use `propose`)")
        self.reader.require_code(target, f"{action.group.value} contract")
        values = action.complete(values, self.reader, target)
        findings = action.precheck(self.reader, target, values)
        refused = refusals(findings)
        if refused and not force:
            raise Conflict(f"{refused[0]} (use --force to send anyway)")
        with translate_chain_errors(action.name):
            calldata = action.encode(values, self.reader, target)
            self._check_owner(action, target, calldata)
            before = action.diff(self.reader, target, values)
            receipt = self.sender.send(target, calldata)
        after = action.diff(self.reader, target, values)
        # The state now read back is the result; a diff that reads no state (create-app) repeats itself.
        changes = tuple(
            b if a == b else StateChange(b.label, b.before, a.before) for b, a in zip(before, after, strict=False)
        )
        app_id = created_app_id(self.reader, target, receipt) if action.group is Group.KMS else None
        warnings = tuple(f.message for f in findings if f.severity is Severity.WARN)
        return DirectResult(action, target, dict(values), receipt, changes, warnings, app_id)
