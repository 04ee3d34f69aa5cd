"""Execution records: signed txs kept per claim, and recording and releasing a claim exclude each other."""

from __future__ import annotations

import pytest

from proposals.errors import Conflict
from proposals.models import ProposalState, SignedExecution
from proposals.store import SqlStore
from tests.store.factories import OWNERS, new_proposal

S = ProposalState


def signed(n: int) -> SignedExecution:
    return SignedExecution(bytes([n]) * 32, b"\x02raw" + bytes([n]), OWNERS[0], 7)


def claimed(store: SqlStore, claim: str) -> int:
    proposal = store.create_proposal(new_proposal(0, state=S.APPROVED), actor="a")
    store.transition(proposal.id, S.EXECUTING, actor="x", expected=[S.APPROVED], execution_claim=claim)
    return proposal.id


def test_signed_txs_belong_to_the_current_claim_only(store: SqlStore) -> None:
    proposal_id = claimed(store, "first")
    store.record_signed_execution(proposal_id, "first", signed(1), actor="x")
    store.record_signed_execution(proposal_id, "first", signed(2), actor="x")  # a fee bump
    assert store.signed_executions(proposal_id) == [signed(1), signed(2)]
    assert [e.detail["txHash"] for e in store.audit(proposal_id=proposal_id) if e.event == "execution-signed"] == [
        "0x" + signed(1).tx_hash.hex(),
        "0x" + signed(2).tx_hash.hex(),
    ]

    store.transition(proposal_id, S.FAILED, actor="x", expected=[S.EXECUTING])
    store.transition(proposal_id, S.EXECUTING, actor="x", expected=[S.FAILED], execution_claim="second")

    assert store.signed_executions(proposal_id) == []
    assert store.release_unsent(proposal_id, "second", actor="r", reason="crashed").state is S.APPROVED


def test_a_claim_with_a_signed_tx_is_not_released_as_unsent(store: SqlStore) -> None:
    proposal_id = claimed(store, "c")
    store.record_signed_execution(proposal_id, "c", signed(1), actor="x")

    assert store.release_unsent(proposal_id, "c", actor="r", reason="crashed") is None
    assert store.get(proposal_id).state is S.EXECUTING


def test_a_released_claim_can_record_nothing(store: SqlStore) -> None:
    proposal_id = claimed(store, "c")
    released = store.release_unsent(proposal_id, "c", actor="r", reason="crashed")
    assert released is not None and released.execution_claim is None
    assert store.audit(proposal_id=proposal_id)[-1].event == "state:executing->approved"

    with pytest.raises(Conflict, match="no longer claimed"):
        store.record_signed_execution(proposal_id, "c", signed(1), actor="x")
    assert store.signed_executions(proposal_id) == []


def test_a_waiting_note_needs_the_claim(store: SqlStore) -> None:
    proposal_id = claimed(store, "c")

    noted = store.note_execution(proposal_id, "c", actor="x", reason="sent; waiting to be mined")

    assert noted is not None and noted.failure_reason == "sent; waiting to be mined"
    assert store.note_execution(proposal_id, "other", actor="x", reason="no") is None
    assert store.get(proposal_id).failure_reason == "sent; waiting to be mined"


def test_a_mined_execution_is_noted_then_cleared_after_a_reorg(store: SqlStore) -> None:
    proposal_id = claimed(store, "c")
    mined = store.note_mined(proposal_id, (b"\x07" * 32, 120, 90_000), actor="x", detail={"block": 120})
    assert mined is not None and mined.confirming and mined.state is S.EXECUTING
    assert (mined.execution_tx_hash, mined.execution_block, mined.execution_gas) == (b"\x07" * 32, 120, 90_000)
    assert mined.execution_claim == "c"  # the claim (and its signed txs) stay for recovery

    dropped = store.note_mined(proposal_id, None, actor="r", detail={"block": 120})
    assert dropped is not None and not dropped.confirming and dropped.execution_tx_hash is None
    assert [e.event for e in store.audit(proposal_id=proposal_id)][-2:] == ["execution-mined", "execution-reorged"]

    store.transition(proposal_id, S.FAILED, actor="x", expected=[S.EXECUTING])
    assert store.note_mined(proposal_id, (b"\x08" * 32, 121, 1), actor="x", detail={}) is None  # executing only
