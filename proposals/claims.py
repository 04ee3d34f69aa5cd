"""Run an executing claim: the one process that moved a proposal to `executing` signs, records and sends it.

Every signed transaction is kept in the store before it is broadcast. So whatever happens next (the
reply lost, the process killed), recovery can tell "never sent" (nothing recorded: release at once)
from "sent" (settle it from the chain by its hash). A send whose outcome is unknown stays `executing`
with the reason shown, for reconciliation to settle.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from proposals.errors import GovernanceError
from proposals.execution import Unsettled
from proposals.models import Proposal, ProposalState, SignedExecution
from proposals.safe_tx import simulate

if TYPE_CHECKING:
    from proposals.service import GovernanceService

log = logging.getLogger(__name__)


def new_claim() -> str:
    """Return a fresh claim token (it scopes the signed transactions to one attempt)."""
    return uuid.uuid4().hex


def run_claim(
    service: GovernanceService, claimed: Proposal, signatures: bytes, safe_tx_hash: bytes, actor: str
) -> Proposal:
    """Execute a proposal this process has just claimed, and store what came of it."""
    executor, store, claim = service.executor, service.store, claimed.execution_claim
    assert executor is not None and claim is not None

    def record(signed: SignedExecution) -> None:
        store.record_signed_execution(claimed.id, claim, signed, actor=actor)

    service.in_flight_claims.add(claim)
    try:
        result = executor.execute(claimed.safe_tx, signatures, safe_tx_hash, record)
    except GovernanceError as exc:
        return _failed(service, claimed, exc, actor)
    finally:
        service.in_flight_claims.discard(claim)
    if isinstance(result, Unsettled):
        log.warning("execution of proposal %s: %s", claimed.id, result.reason)
        noted = store.note_execution(claimed.id, claim, actor=actor, reason=result.reason)
        service.lifecycle.notify(claimed.id, "execution-waiting")
        return noted or store.get(claimed.id)
    return service.record_execution(claimed, result, actor)


def _failed(service: GovernanceService, claimed: Proposal, error: GovernanceError, actor: str) -> Proposal:
    current = service.store.get(claimed.id)
    if current.state is not ProposalState.EXECUTING or current.execution_claim != claimed.execution_claim:
        # Recovery released the claim before anything was signed: there is nothing of ours to record.
        log.warning("execution of proposal %s stopped: %s", claimed.id, error.message)
        return current
    reason = _inner_reason(service, claimed, error.message)
    return service.lifecycle.move(claimed, ProposalState.FAILED, actor, {"nonceUsed": False}, failure_reason=reason)


def _inner_reason(service: GovernanceService, proposal: Proposal, reason: str) -> str:
    """Replace the Safe's generic GS013 with the inner call's own revert reason, when it can be had."""
    if "GS013" not in reason:
        return reason
    try:
        simulation = simulate(service.w3, proposal.safe_tx, service.settings.simulate_accessor)
    except GovernanceError:
        return reason
    return reason if simulation.success else f"{reason}; the inner call reverts: {simulation.reason}"
