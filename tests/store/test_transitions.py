"""The lifecycle's compare-and-set: allowed moves, refused ones, and replicas racing for one."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from proposals.errors import Conflict, InvalidInput, NotFound
from proposals.models import ALLOWED_TRANSITIONS, ProposalState
from proposals.store import SqlStore
from tests.store.factories import Clock, new_proposal

S = ProposalState
ALLOWED = sorted((old, new) for old, targets in ALLOWED_TRANSITIONS.items() for new in targets)
REFUSED = sorted((old, new) for old in S for new in S if new not in ALLOWED_TRANSITIONS[old])


def test_every_allowed_transition(store: SqlStore, clock: Clock) -> None:
    for index, (old, new) in enumerate(ALLOWED):
        proposal = store.create_proposal(new_proposal(index, state=old), actor="a")
        clock.advance(60)
        moved = store.transition(proposal.id, new, actor="bot", expected=[old], detail={"why": f"{old}->{new}"})
        assert (moved.state, moved.updated_at, moved.created_at) == (new, clock.now, proposal.created_at)
        assert store.get(proposal.id) == moved
        last = store.audit(proposal_id=proposal.id)[-1]
        assert (last.event, last.actor, last.detail, last.at) == (
            f"state:{old}->{new}",
            "bot",
            {"why": f"{old}->{new}"},
            clock.now,
        )


def test_every_disallowed_transition_is_a_conflict(store: SqlStore) -> None:
    for index, (old, new) in enumerate(REFUSED):
        proposal = store.create_proposal(new_proposal(index, state=old), actor="a")
        with pytest.raises(Conflict, match=f"cannot move from {old} to {new}"):
            store.transition(proposal.id, new, actor="bot", expected=[old])
        assert store.get(proposal.id) == proposal
    assert {e.event for e in store.audit()} == {"created"}


def test_wrong_expected_state_names_the_current_one(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1, state=S.PENDING), actor="a")
    with pytest.raises(Conflict, match=r"proposal #\d+ is pending, not approved or failed"):
        store.transition(proposal.id, S.EXECUTING, actor="bot", expected=[S.APPROVED, S.FAILED])
    assert store.get(proposal.id).state is S.PENDING
    assert [e.event for e in store.audit(proposal_id=proposal.id)] == ["created"]


def test_expected_states_that_cannot_reach_the_target_do_not_match(store: SqlStore) -> None:
    executing = store.create_proposal(new_proposal(1, state=S.EXECUTING), actor="a")
    pending = store.create_proposal(new_proposal(2, state=S.PENDING), actor="a")
    open_states = [S.PENDING, S.APPROVED, S.EXECUTING, S.FAILED]
    # executing -> expired is not in the lifecycle, even when the caller lists executing.
    with pytest.raises(Conflict, match=r"is executing and cannot move to expired"):
        store.transition(executing.id, S.EXPIRED, actor="bot", expected=open_states)
    assert store.transition(pending.id, S.EXPIRED, actor="bot", expected=open_states).state is S.EXPIRED
    assert store.audit(proposal_id=pending.id)[-1].event == "state:pending->expired"


def test_transition_sets_execution_fields(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1, state=S.EXECUTING), actor="a")
    tx = bytes(range(32))
    done = store.transition(
        proposal.id, S.EXECUTED, actor="executor", expected=[S.EXECUTING],
        execution_tx_hash=tx, execution_block=1234, execution_gas=81_000,
    )  # fmt: skip
    assert (done.execution_tx_hash, done.execution_block, done.execution_gas) == (tx, 1234, 81_000)
    assert store.get(proposal.id) == done
    entry = store.audit(proposal_id=proposal.id)[-1]
    assert entry.detail == {"execution_tx_hash": "0x" + tx.hex(), "execution_block": 1234, "execution_gas": 81_000}


def test_failure_reason_then_retry(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1, state=S.EXECUTING), actor="a")
    failed = store.transition(proposal.id, S.FAILED, actor="x", expected=[S.EXECUTING], failure_reason="GS013")
    assert failed.failure_reason == "GS013"
    again = store.transition(proposal.id, S.EXECUTING, actor="x", expected=[S.FAILED], failure_reason=None)
    assert (again.state, again.failure_reason) == (S.EXECUTING, None)


def test_unknown_fields_and_missing_proposals(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    with pytest.raises(InvalidInput, match="cannot set title"):
        store.transition(proposal.id, S.APPROVED, actor="x", expected=[S.PENDING], title="sneaky")
    with pytest.raises(InvalidInput, match="execution_tx_hash"):
        store.transition(proposal.id, S.EXECUTED, actor="x", expected=[S.PENDING], execution_tx_hash=b"short")
    with pytest.raises(NotFound):
        store.transition(999, S.APPROVED, actor="x", expected=[S.PENDING])
    with pytest.raises(NotFound):
        store.transition(999, S.PENDING, actor="x", expected=[S.EXECUTED])
    assert store.get(proposal.id).state is S.PENDING


def _race(replicas: list[SqlStore], proposal_id: int) -> list[str]:
    """Let every replica try to claim the execution at the same moment; return who won and lost."""
    start = threading.Barrier(len(replicas))
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(replica: SqlStore, name: str) -> None:
        start.wait()
        try:
            replica.transition(proposal_id, S.EXECUTING, actor=name, expected=[S.APPROVED])
            result = "won"
        except Conflict as exc:
            result = "lost" if "is executing" in exc.message else exc.message
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim, args=(r, f"replica-{i}")) for i, r in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.parametrize("racers", [2, 6])
def test_racing_replicas_claim_an_execution_once(open_at: Callable[[], SqlStore], racers: int) -> None:
    replicas = [open_at() for _ in range(racers)]
    ids = [replicas[0].create_proposal(new_proposal(n, state=S.APPROVED), actor="a").id for n in range(10)]
    for proposal_id in ids:
        assert _race(replicas, proposal_id) == ["lost"] * (racers - 1) + ["won"]
        claims = [e for e in replicas[0].audit(proposal_id=proposal_id) if e.event == "state:approved->executing"]
        assert len(claims) == 1
        assert replicas[-1].get(proposal_id).state is S.EXECUTING
