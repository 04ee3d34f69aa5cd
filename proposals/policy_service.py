"""The facade's policy side: export, plan and apply a policy file, and measure drift (GovernanceService inherits it).

`apply_policy` recomputes the plan and files it only when its hash is the one the caller reviewed: the
hash covers the planned actions and the chain state they came from, so a chain that changed in between
is refused instead of filing something nobody saw. It files one batch proposal per owning Safe (split at
the proposal size limit), or sends direct transactions for contracts the caller's key owns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import TransactionSender
from proposals.catalogue import parse_address
from proposals.chain import ChainReader
from proposals.direct import DirectResult, DirectRunner
from proposals.drift import DriftReport, OpenAction, compute_drift
from proposals.errors import Conflict, InvalidInput, Unauthorized
from proposals.models import OPEN_STATES, Proposal
from proposals.planning import MAX_ACTIONS, ChangeRequest
from proposals.policy_file import AppliedPolicy, NewAppliedPolicy, PolicySpec
from proposals.policy_plan import PlanStep, PolicyPlan, build_plan, export_spec
from proposals.policy_state import ChainPolicy, PolicyReader
from proposals.store.base import Store

if TYPE_CHECKING:
    from proposals.service import GovernanceService, ServiceSettings

DRIFT_BASELINE_CURSOR = "policy-drift-since:{kms}"
OPEN_LOOKED_AT = 1_000


@dataclass(frozen=True)
class PolicyApplication:
    """What `apply_policy` filed: the record, the proposals (one per Safe and batch) and the direct transactions."""

    plan: PolicyPlan
    applied: AppliedPolicy
    proposals: tuple[Proposal, ...]
    direct: tuple[DirectResult, ...]


def normalise_hash(text: str) -> str:
    """Return a plan hash as 64 lowercase hex digits (0x and case do not matter)."""
    digits = text.strip().lower().removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise InvalidInput("plan hash: expected 64 hex digits (as `policy plan` prints it)")
    return digits


class PolicyOperations:
    """Policy-as-code operations of GovernanceService."""

    store: Store
    w3: Web3
    reader: ChainReader
    safes: tuple[ChecksumAddress, ...]
    settings: ServiceSettings

    def policy_kms(self, spec: PolicySpec | None = None, kms: ChecksumAddress | None = None) -> ChecksumAddress:
        """Return the KMS a policy is for: the one given, else the file's, else the configured one."""
        chosen = kms or (spec.kms if spec is not None else None) or self.reader.kms
        if chosen is None:
            raise InvalidInput("no KMS: name it in the policy file (kms: 0x…), pass --kms, or set contracts.kms")
        return parse_address(chosen, "kms")

    def read_policy(self, kms: ChecksumAddress, extra_apps: Sequence[ChecksumAddress] = ()) -> ChainPolicy:
        """Read a KMS's policy, its registered apps' and `extra_apps'`, at one block."""
        reader = PolicyReader(
            self.w3, start_block=self.settings.start_block, chunk_blocks=self.settings.log_chunk_blocks
        )
        return reader.read(kms, extra_apps)

    def export_policy(self, kms: ChecksumAddress | None = None) -> tuple[PolicySpec, ChainPolicy]:
        """Return the chain's policy as a complete policy file, and the state it was read from."""
        state = self.read_policy(self.policy_kms(None, kms))
        return export_spec(state), state

    def plan_policy(self, spec: PolicySpec, *, kms: ChecksumAddress | None = None) -> PolicyPlan:
        """Diff a policy file against the chain; change nothing."""
        target = self.policy_kms(spec, kms)
        if spec.kms is not None and kms is not None and spec.kms != kms:
            raise InvalidInput(f"the policy file is for KMS {spec.kms}, not {kms}")
        return build_plan(spec, self.read_policy(target, list(spec.apps)))

    def apply_policy(
        self,
        spec: PolicySpec,
        *,
        plan_hash: str,
        proposer: str,
        source: str,
        kms: ChecksumAddress | None = None,
        within: Collection[str] | None = None,
        direct: TransactionSender | None = None,
    ) -> PolicyApplication:
        """File the plan of `spec` if its hash is still `plan_hash` (Conflict otherwise); record the file."""
        expected = normalise_hash(plan_hash)
        plan = self.plan_policy(spec, kms=kms)
        if plan.plan_hash != expected:
            raise Conflict(
                f"the chain changed since the plan with hash {expected[:16]}… was made (it is now "
                f"{plan.plan_hash[:16]}…): run `policy plan` again and review it; nothing was filed"
            )
        by_safe, direct_steps = self._route(plan, within, direct)
        requests = [r for steps in by_safe.values() for r in _requests(steps, source, plan.plan_hash)]
        proposals = self._file(requests, proposer, within)
        results: list[DirectResult] = []
        if direct is not None and direct_steps:
            runner = DirectRunner(self.reader, direct)
            for step in direct_steps:
                results.append(runner.run(step.action, step.target, step.action.parse(dict(step.values))))
        record = NewAppliedPolicy(
            kms=plan.kms, policy=spec.as_json(), policy_digest=spec.digest(), source=source, plan_hash=plan.plan_hash,
            block=plan.block, proposal_ids=tuple(p.id for p in proposals),
            direct_txs=tuple(bytes(r.receipt.tx_hash) for r in results),
        )  # fmt: skip
        applied = self.store.record_applied_policy(record, actor=proposer)
        return PolicyApplication(plan, applied, proposals, tuple(results))

    def _file(
        self, requests: list[ChangeRequest], proposer: str, within: Collection[str] | None
    ) -> tuple[Proposal, ...]:
        """File every request as a proposal, once each of them has planned and simulated."""
        service: GovernanceService = self  # type: ignore[assignment]
        for request in requests:  # every batch must plan and simulate before any is filed
            service.plan(request, within=within)
        return tuple(service.propose(request, proposer=proposer, within=within) for request in requests)

    def _route(
        self, plan: PolicyPlan, within: Collection[str] | None, direct: TransactionSender | None
    ) -> tuple[dict[ChecksumAddress, list[PlanStep]], list[PlanStep]]:
        """Split the steps by who must sign them: a known Safe (a proposal) or the caller's key (direct)."""
        known = {s.lower() for s in self.safes}
        scope = None if within is None else {s.lower() for s in within}
        by_safe: dict[ChecksumAddress, list[PlanStep]] = {}
        direct_steps: list[PlanStep] = []
        for contract in plan.contracts:
            owner = contract.owner
            if owner is not None and owner.lower() in known:
                if scope is not None and owner.lower() not in scope:
                    raise Unauthorized(f"{contract.target} is owned by Safe {owner}, whose signers meet elsewhere; "
                                       "apply the policy there (nothing was filed)")  # fmt: skip
                by_safe.setdefault(owner, []).extend(contract.steps)
            elif direct is not None and owner is not None and owner.lower() == direct.address.lower():
                direct_steps.extend(contract.steps)
            else:
                how = "nor your key" if direct is not None else "(use --direct with the owner's key)"
                raise InvalidInput(f"{contract.target} is owned by {owner}, which is not a Safe this project knows "
                                   f"{how}; nothing was filed")  # fmt: skip
        return by_safe, direct_steps

    def last_applied_policy(self, kms: ChecksumAddress | None = None) -> AppliedPolicy | None:
        """Return the policy file applied last to the KMS, if any."""
        return self.store.last_applied_policy(self.policy_kms(None, kms))

    def policy_drift(self, kms: ChecksumAddress | None = None) -> DriftReport:
        """Compare the KMS's chain policy with the last applied policy file and with dstack-gov's own changes."""
        target = self.policy_kms(None, kms)
        applied = self.store.last_applied_policy(target)
        state = self.read_policy(target, list(applied.spec.apps) if applied is not None else [])
        if applied is not None:
            since = applied.block
        else:
            cursor = DRIFT_BASELINE_CURSOR.format(kms=target.lower())
            since = self.store.get_cursor(cursor) or 0
            if not since:  # no file applied: judge changes from when dstack-gov first looked
                since = state.block
                self.store.set_cursor(cursor, since)
        direct = set(applied.direct_txs) if applied is not None else set()

        def lookup(hashes: set[bytes]) -> dict[bytes, str]:
            found = {h: f"proposal #{pid}" for h, pid in self.store.executed_by(hashes).items()}
            return found | {h: "policy apply --direct" for h in hashes & direct}

        opened: set[OpenAction] = {
            (call.action, call.target, tuple(sorted((k, str(v)) for k, v in call.values.items())))
            for proposal in self.store.list_proposals(states=OPEN_STATES, limit=OPEN_LOOKED_AT)
            for call in proposal.actions
        }
        return compute_drift(state, applied, since, lookup, opened)


def _requests(steps: list[PlanStep], source: str, plan_hash: str) -> list[ChangeRequest]:
    """Cut one Safe's steps into proposals of at most MAX_ACTIONS actions."""
    chunks = [steps[i : i + MAX_ACTIONS] for i in range(0, len(steps), MAX_ACTIONS)]
    name = " ".join(source.split())[:100] or "policy file"
    requests = []
    for index, chunk in enumerate(chunks, start=1):
        part = f" (part {index} of {len(chunks)})" if len(chunks) > 1 else ""
        title = f"Apply policy {name}: {len(chunk)} change(s){part}"[:200]
        description = f"Filed by `policy apply` from {name}; plan hash {plan_hash}."
        requests.append(ChangeRequest(title, tuple(s.requested() for s in chunk), description))
    return requests
