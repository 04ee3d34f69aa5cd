"""The lifecycle: nonces, queueing, expiry, cancelling, restarts and crashes mid-execution."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hexbytes import HexBytes

from contracts import TransactionSender
from proposals.errors import Conflict, InvalidInput
from proposals.execution import Executor
from proposals.models import ProposalKind, ProposalState
from proposals.reconcile import Reconciler
from proposals.safe_tx import read_safe_state, safe_tx_hashes
from proposals.signatures import combine, recheck
from tests.helpers.chain import dev_account
from tests.helpers.governance import EXECUTOR_INDEX, Governance
from tests.helpers.proposing import (
    event_names,
    events,
    execute_outside,
    image_allowed,
    propose_image,
    safe_nonce,
    sign,
)


def test_proposals_take_the_next_free_nonces_and_free_them_when_withdrawn(gov_m_of_n: Governance):
    gov = gov_m_of_n
    first, second = propose_image(gov, 1), propose_image(gov, 2)
    assert (first.nonce, second.nonce) == (0, 1)
    assert gov.store.reserved_nonces(gov.safe) == {0, 1}

    gov.svc.cancel(first.id, actor="test")

    assert propose_image(gov, 3).nonce == 0
    assert propose_image(gov, 4).nonce == 2


def test_a_nonce_the_safe_already_used_is_refused(gov_m_of_n: Governance):
    gov = gov_m_of_n
    execute_outside(gov, propose_image(gov, 1), gov.owners[: gov.threshold])
    with pytest.raises(InvalidInput) as caught:
        propose_image(gov, 2, nonce=0)
    assert caught.value.message == "nonce 0 is already used (the Safe is at nonce 1)"


def test_of_two_proposals_at_one_nonce_the_executed_one_supersedes_the_other(gov_m_of_n: Governance):
    gov = gov_m_of_n
    first = propose_image(gov, 1)
    rival = propose_image(gov, 2, nonce=first.nonce)
    assert rival.nonce == first.nonce == 0

    assert sign(gov, first.id, *range(gov.threshold)).proposal.state is ProposalState.EXECUTED
    report = Reconciler(gov.svc).run()

    assert report.superseded == [rival.id] and report.executed_elsewhere == []
    assert gov.svc.get(rival.id).state is ProposalState.SUPERSEDED and not image_allowed(gov, 2)
    ended = events(gov, rival.id)[-1]
    assert (ended.event, ended.actor) == ("state:pending->superseded", "chain")
    assert ended.detail == {"reason": "nonce 0 was used by another transaction"}


def test_a_fully_signed_later_nonce_waits_its_turn_then_reconcile_executes_it(gov):
    first, second = propose_image(gov, 1), propose_image(gov, 2)
    early = sign(gov, second.id, 0, 1)
    assert early.proposal.state is ProposalState.APPROVED and early.execution_error is None
    with pytest.raises(Conflict) as caught:
        gov.svc.execute(second.id, actor="test")
    assert caught.value.message == (
        f"proposal #{second.id} has nonce 1; the Safe is at 0: earlier proposals must execute (or be rejected) first"
    )

    assert sign(gov, first.id, 1, 2).proposal.state is ProposalState.EXECUTED
    report = Reconciler(gov.svc).run()

    assert report.executed == [second.id]
    assert gov.svc.get(second.id).state is ProposalState.EXECUTED and image_allowed(gov, 2)
    assert safe_nonce(gov.w3, gov.safe) == 2


def test_a_pending_proposal_expires_after_its_ttl(gov):
    old = propose_image(gov, 1)
    gov.clock.now += timedelta(days=6)
    young = propose_image(gov, 2)
    sign(gov, old.id, 0)
    gov.clock.now += timedelta(days=1)

    report = Reconciler(gov.svc).run()

    assert report.expired == [old.id]
    assert gov.svc.get(old.id).state is ProposalState.EXPIRED
    assert gov.svc.get(young.id).state is ProposalState.PENDING
    assert events(gov, old.id)[-1].detail == {"expiresAt": old.expires_at.isoformat()}
    with pytest.raises(Conflict) as caught:
        sign(gov, old.id, 1)
    assert caught.value.message == f"proposal #{old.id} is expired; it takes no more signatures"
    assert propose_image(gov, 3).nonce == old.nonce


def test_an_expired_proposal_executed_anyway_is_noted_in_the_audit_log(gov):
    p = propose_image(gov, 1)
    gov.clock.now += timedelta(days=8)
    assert [e.id for e in gov.svc.expire()] == [p.id]

    tx_hash = execute_outside(gov, p, gov.owners[:2])
    Reconciler(gov.svc).run()

    assert gov.svc.get(p.id).state is ProposalState.EXPIRED
    late = events(gov, p.id)[-1]
    assert (late.event, late.detail) == ("executed-after-end", {"txHash": "0x" + tx_hash.hex(), "success": True})


def test_cancel_before_any_signature_withdraws(gov):
    p = propose_image(gov, 1)

    result = gov.svc.cancel(p.id, actor="alice")

    assert result.rejection is None and result.proposal.state is ProposalState.CANCELLED
    last = events(gov, p.id)[-1]
    assert (last.event, last.actor, last.detail) == ("state:pending->cancelled", "alice", {"withdrawn": True})
    with pytest.raises(Conflict) as caught:
        gov.svc.cancel(p.id, actor="alice")
    assert caught.value.message == f"proposal #{p.id} is cancelled; it cannot be cancelled"


def test_cancel_after_a_signature_proposes_a_rejection_that_cancels_once_executed(gov):
    p = propose_image(gov, 1)
    sign(gov, p.id, 0)

    result = gov.svc.cancel(p.id, actor="alice")

    rejection = result.rejection
    assert rejection is not None and result.proposal.state is ProposalState.PENDING
    assert (rejection.kind, rejection.rejects, rejection.nonce) == (ProposalKind.REJECTION, p.id, p.nonce)
    tx = rejection.safe_tx
    assert (tx.to, tx.value, tx.data, tx.operation) == (gov.safe, 0, b"", 0)
    assert rejection.title == f"Reject proposal #{p.id}: Allow image 1"
    assert [c.description for c in gov.svc.view(rejection.id).calls] == [
        "Reject: do nothing at nonce 0 (cancels what shares it)"
    ]
    assert gov.svc.cancel(p.id, actor="bob").rejection == rejection  # asking again finds the same rejection

    done = sign(gov, rejection.id, 1, 2).proposal

    assert done.state is ProposalState.EXECUTED and safe_nonce(gov.w3, gov.safe) == 1
    assert gov.svc.get(p.id).state is ProposalState.CANCELLED and not image_allowed(gov, 1)
    assert events(gov, p.id)[-1].detail == {"rejectedBy": rejection.id}


def test_a_rejection_executed_elsewhere_cancels_the_original_on_reconcile(gov):
    p = propose_image(gov, 1)
    sign(gov, p.id, 0)
    rejection = gov.svc.cancel(p.id, actor="alice").rejection
    assert rejection is not None

    execute_outside(gov, rejection, gov.owners[1:])
    report = Reconciler(gov.svc).run()

    assert report.executed_elsewhere == [rejection.id]
    assert gov.svc.get(p.id).state is ProposalState.CANCELLED
    assert gov.svc.get(rejection.id).state is ProposalState.EXECUTED


def test_a_restart_between_signatures_loses_nothing(gov):
    before = gov.service()
    p = propose_image(gov, 1, svc=before)
    sign(gov, p.id, 0, svc=before)

    after = gov.service()
    done = sign(gov, p.id, 2, svc=after).proposal

    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert [s.owner for s in after.store.signatures(p.id)] == [gov.owners[0].address, gov.owners[2].address]


def left_executing(gov: Governance):
    """Sign to quorum without an executor, then claim the execution as a process that then crashed."""
    p = propose_image(gov, 1, svc=gov.service(with_executor=False))
    sign(gov, p.id, 0, 1, svc=gov.service(with_executor=False))
    return gov.store.transition(p.id, ProposalState.EXECUTING, actor="crashed", expected=[ProposalState.APPROVED])


def test_a_crash_after_sending_is_recorded_as_executed_by_reconcile(gov):
    p = left_executing(gov)
    hashes = safe_tx_hashes(p.safe_tx)
    checked = recheck(gov.client, read_safe_state(gov.w3, gov.safe), hashes, gov.store.signatures(p.id))
    signatures = combine(checked.valid, hashes)
    sent = Executor(TransactionSender(gov.w3, dev_account(EXECUTOR_INDEX)), gov.client).execute(
        p.safe_tx, signatures, hashes.safe_tx_hash
    )
    assert sent.success and gov.store.get(p.id).state is ProposalState.EXECUTING

    report = Reconciler(gov.service()).run()

    done = gov.store.get(p.id)
    assert report.executed_elsewhere == [p.id] and report.retried == []
    assert done.state is ProposalState.EXECUTED and done.execution_tx_hash == sent.tx_hash
    assert done.execution_block == sent.block_number and safe_nonce(gov.w3, gov.safe) == 1
    assert event_names(gov, p.id)[-1] == "state:executing->executed"


def test_a_claim_left_with_nothing_signed_is_released_by_the_next_reconcile_at_once(gov):
    p = left_executing(gov)  # claimed without a token, as before migration 0004
    frozen = gov.clock.now

    report = Reconciler(gov.service()).run()

    assert gov.clock.now == frozen  # no timeout had to pass
    assert report.released == [p.id] and report.executed == [p.id]
    assert gov.store.get(p.id).state is ProposalState.EXECUTED and image_allowed(gov, 1)
    names = event_names(gov, p.id)
    assert names[-5:] == [
        "state:approved->executing",
        "state:executing->approved",
        "state:approved->executing",
        "execution-signed",
        "state:executing->executed",
    ]
    assert events(gov, p.id)[-4].detail == {"reason": "the execution stopped before anything was sent"}
    sent = gov.w3.eth.get_transaction(HexBytes(gov.store.get(p.id).execution_tx_hash))
    assert sent["from"] == dev_account(EXECUTOR_INDEX).address


def test_a_quorum_signature_whose_proposal_another_process_approved_meanwhile_still_executes(gov):
    svc = gov.service()
    p = propose_image(gov, 1, svc=svc)
    sign(gov, p.id, 0, svc=svc)
    other = gov.service(with_executor=False)

    def approve_elsewhere(proposal_id: int, event: str) -> None:
        # Between storing this signature and approving, another process's signature approves it.
        if event == "signature" and other.get(proposal_id).state is ProposalState.PENDING:
            other.store.transition(proposal_id, ProposalState.APPROVED, actor="other", expected=[ProposalState.PENDING])

    svc.subscribe(approve_elsewhere)
    result = sign(gov, p.id, 1, svc=svc)

    assert result.execution_error is None and result.proposal.state is ProposalState.EXECUTED
    assert image_allowed(gov, 1) and "state:pending->approved" in event_names(gov, p.id)
