"""Reconciliation: what happens on chain without us (executions, approveHash, owner changes) reaches the store."""

from __future__ import annotations

from hexbytes import HexBytes

from proposals.models import ProposalState, SignatureKind
from proposals.reconcile import Reconciler
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance
from tests.helpers.proposing import (
    OUTSIDE_EXECUTOR_INDEX,
    event_names,
    events,
    execute_outside,
    image_allowed,
    propose_image,
    request,
    safe_nonce,
    sign,
)


def empty(report) -> bool:
    return all(not value for value in report.as_dict().values())


def test_an_execution_outside_the_project_is_recorded_with_its_tx_hash(gov_m_of_n: Governance):
    gov = gov_m_of_n
    p = propose_image(gov, 1)

    tx_hash = execute_outside(gov, p, gov.owners[: gov.threshold])
    report = Reconciler(gov.svc).run()

    done = gov.svc.get(p.id)
    receipt = gov.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    assert report.executed_elsewhere == [p.id] and report.executed == []
    assert done.state is ProposalState.EXECUTED and done.execution_tx_hash == tx_hash
    assert (done.execution_block, done.execution_gas) == (receipt["blockNumber"], receipt["gasUsed"])
    assert receipt["from"] == dev_account(OUTSIDE_EXECUTOR_INDEX).address and image_allowed(gov, 1)
    assert event_names(gov, p.id)[-2:] == ["state:pending->approved", "state:approved->executed"]
    assert events(gov, p.id)[-2].detail == {"executedElsewhere": True}
    assert events(gov, p.id)[-1].actor == "chain"
    assert empty(Reconciler(gov.svc).run())


def test_approve_hash_on_chain_is_picked_up_and_executes(gov_m_of_n: Governance):
    gov = gov_m_of_n
    p = propose_image(gov, 1)
    approvers = gov.owners[: gov.threshold]
    for owner in approvers:
        gov.approve_hash(owner, p.safe_tx_hash)

    report = Reconciler(gov.svc).run()

    assert report.approvals == [(p.id, o.address) for o in approvers]
    assert report.executed == [p.id] and report.executed_elsewhere == []
    assert gov.svc.get(p.id).state is ProposalState.EXECUTED and image_allowed(gov, 1)
    stored = gov.store.signatures(p.id)
    assert [(s.owner, s.kind, s.source) for s in stored] == [
        (o.address, SignatureKind.APPROVED_HASH, "chain:approveHash") for o in approvers
    ]


def test_a_stray_approve_hash_is_ignored(gov):
    p = propose_image(gov, 1)
    gov.approve_hash(gov.owners[0], b"\x99" * 32)

    report = Reconciler(gov.svc).run()

    assert report.approvals == [] and gov.store.signatures(p.id) == []


def test_a_lowered_threshold_approves_and_executes_a_pending_proposal(gov):
    lower = gov.svc.propose(
        request("Threshold 1", ("safe change-threshold", {"threshold": "1"}, None)), proposer="test"
    )
    p = propose_image(gov, 1)
    assert sign(gov, p.id, 2).proposal.state is ProposalState.PENDING
    assert sign(gov, lower.id, 0, 1).proposal.state is ProposalState.EXECUTED

    report = Reconciler(gov.svc).run()

    assert len(report.owner_changes) == 1 and report.owner_changes[0].startswith(f"{gov.safe} block ")
    assert report.executed == [p.id]
    assert gov.svc.get(p.id).state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert safe_nonce(gov.w3, gov.safe) == 2
    [change] = [e for e in events(gov) if e.event == "safe-owners-changed"]
    assert change.proposal_id is None and change.detail["threshold"] == 1
    assert change.detail["owners"] == [o.address for o in gov.owners]
    assert "state:pending->approved" in event_names(gov, p.id)


def test_a_raised_threshold_sends_an_approved_proposal_back_to_pending(gov):
    svc = gov.service(with_executor=False)
    raise_ = svc.propose(request("Threshold 3", ("safe change-threshold", {"threshold": "3"}, None)), proposer="t")
    p = propose_image(gov, 1, svc=svc)
    assert sign(gov, p.id, 0, 1, svc=svc).proposal.state is ProposalState.APPROVED
    execute_outside(gov, raise_, gov.owners[:2])

    report = Reconciler(svc).run()

    assert report.executed_elsewhere == [raise_.id]
    assert gov.svc.get(p.id).state is ProposalState.PENDING
    assert events(gov, p.id)[-1].detail == {"reason": "signatures below threshold", "valid": 2}
    assert sign(gov, p.id, 2).proposal.state is ProposalState.EXECUTED
