"""The governance service: propose, sign, execute on quorum, cancel. Front ends call only this."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from safe_eth.eth import EthereumClient

from proposals.chain import LOG_CHUNK_BLOCKS, ChainReader
from proposals.claims import new_claim, run_claim
from proposals.clock import utc_now
from proposals.compose_review import review_composes
from proposals.decode import Known
from proposals.errors import Conflict, GovernanceError, InvalidInput, NotFound
from proposals.execution import ExecutionResult, Executor
from proposals.executor_funds import ExecutorFunds
from proposals.finality import deep_enough, hold
from proposals.lifecycle import Lifecycle, Listener
from proposals.models import (
    OPEN_STATES,
    TERMINAL_STATES,
    NewProposal,
    NewSignature,
    Proposal,
    ProposalKind,
    ProposalState,
)
from proposals.planning import NONCE_WINDOW, ChangeRequest, Plan, Planner
from proposals.policy_service import PolicyOperations
from proposals.reconcile import Reconciler, ReconcileReport
from proposals.safe_tx import (
    CANONICAL_MULTI_SEND_CALL_ONLY,
    CANONICAL_SIMULATE_TX_ACCESSOR,
    SafeState,
    SafeTxHashes,
    read_safe_state,
    safe_tx_hashes,
    typed_data,
)
from proposals.service_health import HealthReports
from proposals.service_operations import ServiceOperations
from proposals.service_support import FrontEndSupport
from proposals.signatures import CheckedSignature, Recheck, SignatureRefused, check_signature, combine, recheck
from proposals.store.base import Store
from proposals.stored_actions import describe_stored
from proposals.tx_service_ops import TxServiceConfig, TxServiceOperations
from proposals.views import ProposalView, build_view

log = logging.getLogger(__name__)
SIGNABLE_STATES = frozenset({ProposalState.PENDING, ProposalState.APPROVED, ProposalState.FAILED})
# The Safes a caller may propose for (None: every Safe the service knows).
Scope = Collection[str] | None


@dataclass(frozen=True)
class ServiceSettings:
    """Tunables of the service."""

    multi_send: ChecksumAddress = CANONICAL_MULTI_SEND_CALL_ONLY
    simulate_accessor: ChecksumAddress = CANONICAL_SIMULATE_TX_ACCESSOR
    proposal_ttl: timedelta | None = timedelta(days=7)
    # Reconciliation executes a failed proposal again (nonce unused, quorum held) at most this many times.
    retry_attempts: int = 3
    log_lookback_blocks: int = 50_000
    log_chunk_blocks: int = LOG_CHUNK_BLOCKS
    # Where policy events start (the KMS deployment block): nothing before it is read.
    start_block: int = 0
    # A proposer's chosen nonce may be at most this far ahead of the Safe's, unless forced.
    nonce_window: int = NONCE_WINDOW
    # An execution is final once this many blocks hold it (proposals/finality.py); 1: when mined.
    confirmations: int = 1
    # Warn (once per crossing) when the executor holds less than this (wei); 0: never.
    low_balance_wei: int = 0


@dataclass(frozen=True)
class SignResult:
    """A stored signature and what it caused."""

    proposal: Proposal
    signature: CheckedSignature
    valid_count: int
    threshold: int
    execution_error: str | None = None


@dataclass(frozen=True)
class CancelResult:
    """A withdrawn proposal, or the rejection proposal that will cancel it once signed."""

    proposal: Proposal
    rejection: Proposal | None


class GovernanceService(
    ServiceOperations, FrontEndSupport, PolicyOperations, TxServiceOperations, ExecutorFunds, HealthReports
):
    """Drives proposals from request to execution; the chain is the truth, the store the memory."""

    def __init__(
        self,
        *,
        client: EthereumClient,
        store: Store,
        safes: Sequence[ChecksumAddress],
        kms: ChecksumAddress | None,
        settings: ServiceSettings | None = None,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = utc_now,
        tx_service: TxServiceConfig | None = None,
    ) -> None:
        self.client = client
        self.w3 = client.w3
        self.store = store
        self.safes = tuple(safes)
        self.settings = settings or ServiceSettings()
        self.executor = executor
        self.clock = clock
        self.reader = ChainReader(
            self.w3, kms, start_block=self.settings.start_block, chunk_blocks=self.settings.log_chunk_blocks
        )
        self.planner = Planner(
            self.reader,
            known_safes=self.safes,
            multi_send=self.settings.multi_send,
            simulate_accessor=self.settings.simulate_accessor,
            nonce_window=self.settings.nonce_window,
        )
        self.known = Known(kms, (self.settings.multi_send,))
        self.lifecycle = Lifecycle(store)
        # Claims this process is sending right now: recovery leaves them alone.
        self.in_flight_claims: set[str] = set()
        self._start_tx_service(tx_service)  # Safe Transaction Service sync, when configured

    # -- notifications -------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(proposal_id, event)` after every change (front ends refresh their views)."""
        self.lifecycle.subscribe(listener)

    # -- reading -------------------------------------------------------------------------

    def get(self, proposal_id: int) -> Proposal:
        """Return one proposal (NotFound if missing)."""
        return self.store.get(proposal_id)

    def view(self, proposal_id: int) -> ProposalView:
        """Return the proposal with live signature validity against the Safe's current owners."""
        proposal = self.store.get(proposal_id)
        stored = self.store.signatures(proposal_id)
        state = read_safe_state(self.w3, proposal.safe)
        dropped: dict[str, str] = {}
        if proposal.state in OPEN_STATES and stored:
            checked = recheck(self.client, state, safe_tx_hashes(proposal.safe_tx), stored)
            dropped = {sig.owner.lower(): reason for sig, reason in checked.dropped}
        composes = review_composes(proposal, self.store.composes(proposal_id), self.store.compose_by_hash)
        return build_view(proposal, stored, state, self.known, dropped, composes, **self.view_extras(proposal))

    def typed_data(self, proposal_id: int) -> dict[str, object]:
        """Return the EIP-712 typed data owners sign (ActionsMismatch when its stored actions disagree)."""
        proposal = self.store.get(proposal_id)
        describe_stored(proposal, self.known)
        return typed_data(proposal.safe_tx)

    def list_proposals(self, states: Sequence[ProposalState] | None = None, limit: int = 100) -> list[Proposal]:
        """Return proposals, newest first."""
        return self.store.list_proposals(states=states, limit=limit)

    def get_within(self, proposal_id: int, safes: Collection[str]) -> Proposal:
        """Return a proposal of one of `safes`; any other reads exactly like a missing id (NotFound)."""
        proposal = self.store.get(proposal_id)
        if proposal.safe.lower() not in {safe.lower() for safe in safes}:
            # The same words as the store's, so a front end scoped to some Safes cannot tell the two apart.
            raise NotFound(f"no proposal #{proposal_id}")
        return proposal

    def open_proposals_of(self, safes: Collection[ChecksumAddress], limit: int = 500) -> list[Proposal]:
        """Return the open proposals of `safes`, newest first (at most `limit`)."""
        found: dict[int, Proposal] = {}
        for safe in safes:
            found.update((p.id, p) for p in self.store.list_proposals(states=OPEN_STATES, safe=safe, limit=limit))
        return sorted(found.values(), key=lambda p: p.id, reverse=True)[:limit]

    # -- proposing -----------------------------------------------------------------------

    def plan(
        self, request: ChangeRequest, *, force: bool = False, nonce: int | None = None, within: Scope = None
    ) -> Plan:
        """Build and simulate without storing (a dry run); with `within`, only for one of those Safes."""
        return self.planner.plan(request, self.store.reserved_nonces, force=force, nonce=nonce, within=within)

    def propose(
        self,
        request: ChangeRequest,
        *,
        proposer: str,
        force: bool = False,
        nonce: int | None = None,
        within: Scope = None,
    ) -> Proposal:
        """Plan, simulate and store a proposal as pending; it holds its nonce until it ends.

        With `within`, a change whose Safe is not one of those is refused (Unauthorized) and nothing is stored.
        """
        plan = self.plan(request, force=force, nonce=nonce, within=within)
        proposal = self._store_plan(plan, request.title, request.description, proposer, ProposalKind.CHANGE)
        self.store.record(
            proposal.id,
            actor=proposer,
            event="planned",
            detail={
                "warnings": list(plan.warnings),
                "simulationGas": plan.simulation.gas_used,
                "changes": [
                    {"action": a.action.name, "what": c.label, "before": c.before, "after": c.after}
                    for a in plan.actions
                    for c in a.changes
                ],
            },
        )
        self.lifecycle.notify(proposal.id, "created")
        return proposal

    def _store_plan(
        self, plan: Plan, title: str, description: str, proposer: str, kind: ProposalKind, rejects: int | None = None
    ) -> Proposal:
        ttl = self.settings.proposal_ttl
        new = NewProposal(
            kind=kind,
            state=ProposalState.PENDING,
            title=title.strip(),
            description=description,
            proposer=proposer,
            safe_tx=plan.tx,
            safe_tx_hash=plan.hashes.safe_tx_hash,
            actions=tuple(a.to_call() for a in plan.actions),
            expires_at=self.clock() + ttl if ttl else None,
            rejects=rejects,
            planned=plan.planned if kind is ProposalKind.CHANGE else None,
            composes=plan.composes,
        )
        return self.store.create_proposal(new, actor=proposer)

    # -- signing -------------------------------------------------------------------------

    def sign_with_account(self, proposal_id: int, account: LocalAccount, *, source: str) -> SignResult:
        """Sign the proposal's typed data (EIP-712) with a local owner key, then add it."""
        proposal = self.store.get(proposal_id)
        describe_stored(proposal, self.known)  # never sign what the stored actions do not describe
        signed = account.sign_typed_data(full_message=typed_data(proposal.safe_tx))
        return self.add_signature(proposal_id, bytes(signed.signature), source=source, actor=source)

    def add_signature(
        self,
        proposal_id: int,
        signature: bytes,
        *,
        source: str,
        actor: str,
        claimed_owner: ChecksumAddress | None = None,
    ) -> SignResult:
        """Verify and store a signature; the one that meets the threshold starts execution at once."""
        proposal = self.store.get(proposal_id)
        if proposal.state not in SIGNABLE_STATES:
            raise Conflict(f"proposal #{proposal.id} is {proposal.state.value}; it takes no more signatures")
        describe_stored(proposal, self.known)  # ActionsMismatch: what signers were shown is not what is signed
        state = read_safe_state(self.w3, proposal.safe)
        if state.nonce > proposal.nonce:
            Reconciler(self).reconcile_safe(proposal.safe)
            raise Conflict(f"proposal #{proposal.id}: its nonce {proposal.nonce} has been used already")
        hashes = safe_tx_hashes(proposal.safe_tx)
        try:
            checked = check_signature(self.client, state, hashes, signature, claimed_owner=claimed_owner)
        except SignatureRefused as exc:
            self.store.record(proposal.id, actor=actor, event="signature-refused",
                              detail={"reason": exc.message, "source": source})  # fmt: skip
            raise
        earlier = self.store.signatures(proposal.id)
        if any(s.owner.lower() == checked.owner.lower() for s in earlier):
            raise Conflict(f"{checked.owner} already signed proposal #{proposal.id}")
        self.store.add_signature(
            NewSignature(proposal.id, checked.owner, checked.kind, checked.signature, source), actor=actor
        )
        self.lifecycle.notify(proposal.id, "signature")
        # One pass from here to the receipt: the state just read is the re-read before executing.
        rechecked = recheck(self.client, state, hashes, earlier)
        signatures = Recheck((*rechecked.valid, checked), rechecked.dropped)
        done, valid, error = self._advance(proposal, state, hashes, signatures)
        return SignResult(done, checked, valid, state.threshold, error)

    def after_signature(self, proposal_id: int, state: SafeState | None = None) -> tuple[int, str | None]:
        """Move to approved at quorum and execute at once if we hold an executor key."""
        proposal = self.store.get(proposal_id)
        state = state or read_safe_state(self.w3, proposal.safe)
        hashes = safe_tx_hashes(proposal.safe_tx)
        signatures = recheck(self.client, state, hashes, self.store.signatures(proposal.id))
        _, valid, error = self._advance(proposal, state, hashes, signatures)
        return valid, error

    def _advance(
        self, proposal: Proposal, state: SafeState, hashes: SafeTxHashes, signatures: Recheck
    ) -> tuple[Proposal, int, str | None]:
        """Approve at quorum and, holding an executor key, execute from the state and signatures already read."""
        valid = len(signatures.valid)
        if valid >= state.threshold and proposal.state is ProposalState.PENDING:
            try:
                proposal = self.lifecycle.move(proposal, ProposalState.APPROVED, "quorum", {"signatures": valid})
            except Conflict:  # another signature (another process) moved it first: go on from where it is
                proposal = self.store.get(proposal.id)
        if valid < state.threshold or self.executor is None or state.nonce != proposal.nonce:
            return proposal, valid, None
        try:
            done = self._execute_checked(proposal, state, hashes, signatures, actor="auto")
        except GovernanceError as exc:
            log.warning("automatic execution of proposal %s did not happen: %s", proposal.id, exc.message)
            return self.store.get(proposal.id), valid, exc.message
        if done.state is ProposalState.FAILED:
            return done, valid, done.failure_reason or "the execution failed"
        if done.state is ProposalState.EXECUTING:
            return done, valid, done.failure_reason
        return done, valid, None

    # -- executing -----------------------------------------------------------------------

    def execute(self, proposal_id: int, *, actor: str) -> Proposal:
        """Re-read nonce and owners, re-verify signatures, and execute with the executor key."""
        if self.executor is None:
            raise InvalidInput("no executor key is configured ([executor] in the config)")
        proposal = self.store.get(proposal_id)
        if proposal.state not in SIGNABLE_STATES:
            raise Conflict(f"proposal #{proposal.id} is {proposal.state.value}; it cannot be executed")
        state = read_safe_state(self.w3, proposal.safe)
        if state.nonce > proposal.nonce:
            Reconciler(self).reconcile_safe(proposal.safe)
            return self.store.get(proposal.id)
        if state.nonce < proposal.nonce:
            raise Conflict(
                f"proposal #{proposal.id} has nonce {proposal.nonce}; the Safe is at {state.nonce}: "
                "earlier proposals must execute (or be rejected) first"
            )
        hashes = safe_tx_hashes(proposal.safe_tx)
        signatures = recheck(self.client, state, hashes, self.store.signatures(proposal.id))
        return self._execute_checked(proposal, state, hashes, signatures, actor)

    def _execute_checked(
        self, proposal: Proposal, state: SafeState, hashes: SafeTxHashes, signatures: Recheck, actor: str
    ) -> Proposal:
        """Claim and execute `proposal` at the Safe's nonce with the signatures just re-verified against `state`."""
        assert self.executor is not None
        describe_stored(proposal, self.known)  # ActionsMismatch: stored actions changed since quorum; never execute
        for sig, reason in signatures.dropped:
            self.store.remove_signature(proposal.id, sig.owner, actor=actor, reason=reason)
        valid = len(signatures.valid)
        if valid < state.threshold:
            if proposal.state is ProposalState.APPROVED:
                self.lifecycle.move(proposal, ProposalState.PENDING, "below threshold",
                                    {"signatures": valid, "threshold": state.threshold})  # fmt: skip
            raise Conflict(f"proposal #{proposal.id} has {valid} valid signature(s); the Safe needs {state.threshold}")
        if proposal.state is ProposalState.PENDING:
            proposal = self.lifecycle.move(proposal, ProposalState.APPROVED, "quorum", {"signatures": valid})
        self.defer_for_fees(proposal)  # FeesTooHigh above [executor] max_fee_gwei: it stays approved
        # Compare-and-set: of several processes, exactly one claims the execution.
        claimed = self.lifecycle.move(proposal, ProposalState.EXECUTING, actor, {"executor": self.executor.address},
                                      execution_claim=new_claim(), failure_reason=None,
                                      execution_tx_hash=None, execution_block=None)  # fmt: skip
        return run_claim(self, claimed, combine(signatures.valid, hashes), hashes.safe_tx_hash, actor)

    def record_execution(self, proposal: Proposal, result: ExecutionResult, actor: str) -> Proposal:
        """Store an execution outcome (ours or found on chain) and its consequences."""
        if result.success and not deep_enough(self, result.block_number):
            return hold(self, proposal, result, actor)  # "executed, confirming" until final
        detail = {"nonceUsed": result.nonce_used, "broadcasts": ["0x" + h.hex() for h in result.broadcasts]}
        fields = {"execution_tx_hash": result.tx_hash, "execution_block": result.block_number,
                  "execution_gas": result.gas_used}  # fmt: skip
        if result.success:
            # An earlier failed attempt's reason stays in the audit log, not on the executed proposal.
            done = self.lifecycle.move(proposal, ProposalState.EXECUTED, actor, detail, failure_reason=None, **fields)
            if done.kind is ProposalKind.REJECTION and done.rejects is not None:
                self.lifecycle.end(done.rejects, ProposalState.CANCELLED, actor, {"rejectedBy": done.id})
            return done
        failed = ProposalState.FAILED
        return self.lifecycle.move(proposal, failed, actor, detail, failure_reason=result.reason, **fields)

    # -- cancelling ----------------------------------------------------------------------

    def cancel(self, proposal_id: int, *, actor: str) -> CancelResult:
        """Withdraw a proposal nobody signed; otherwise propose the Safe-style rejection at its nonce."""
        proposal = self.store.get(proposal_id)
        if proposal.state in TERMINAL_STATES or proposal.state is ProposalState.EXECUTING:
            raise Conflict(f"proposal #{proposal.id} is {proposal.state.value}; it cannot be cancelled")
        if proposal.kind is ProposalKind.REJECTION:
            if self.store.signatures(proposal.id):
                raise Conflict(f"rejection #{proposal.id} has signatures; it can only be superseded")
            withdrawn = self.lifecycle.end(proposal.id, ProposalState.CANCELLED, actor, {"withdrawn": True})
            return CancelResult(withdrawn, None)
        if not self.store.signatures(proposal.id):
            done = self.lifecycle.end(proposal.id, ProposalState.CANCELLED, actor, {"withdrawn": True})
            return CancelResult(done, None)
        for existing in self.store.list_proposals(safe=proposal.safe, nonce=proposal.nonce, states=OPEN_STATES):
            if existing.kind is ProposalKind.REJECTION and existing.rejects == proposal.id:
                return CancelResult(proposal, existing)
        plan = self.planner.plan_rejection(proposal.safe, proposal.nonce)
        rejection = self._store_plan(
            plan, f"Reject proposal #{proposal.id}: {proposal.title}"[:200],
            f"Cancels proposal #{proposal.id} by using its nonce {proposal.nonce} for a no-op.",
            actor, ProposalKind.REJECTION, rejects=proposal.id,
        )  # fmt: skip
        self.lifecycle.notify(rejection.id, "created")
        return CancelResult(proposal, rejection)

    # -- helpers -------------------------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Run one reconciliation pass against the chain (every Safe, then expiry) and report what changed."""
        return Reconciler(self).run()

    def retry_executions(self, attempts: int | None = None) -> ReconcileReport:
        """Settle executions left executing and retry failed ones that can still run (at most `attempts` times)."""
        return Reconciler(self).retry_executions(attempts)

    def expire(self) -> list[Proposal]:
        """End pending/approved proposals whose TTL passed."""
        now = self.clock()
        expired = []
        waiting = [ProposalState.PENDING, ProposalState.APPROVED]
        for proposal in self.store.list_proposals(states=waiting, limit=10_000):
            if proposal.expires_at is not None and proposal.expires_at <= now:
                detail: dict[str, object] = {"expiresAt": proposal.expires_at.isoformat()}
                expired.append(self.lifecycle.end(proposal.id, ProposalState.EXPIRED, "scheduler", detail))
        return expired
