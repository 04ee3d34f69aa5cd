"""Applied policy files and "which proposal executed this transaction", on SQLite and PostgreSQL."""

from __future__ import annotations

from proposals.models import ProposalState as S
from proposals.policy_file import NewAppliedPolicy
from proposals.store import SqlStore
from tests.store.factories import KMS, START, new_proposal

POLICY = {"kms": KMS, "osImages": ["0x" + "11" * 32]}


def applied(block: int, *, direct: tuple[bytes, ...] = ()) -> NewAppliedPolicy:
    return NewAppliedPolicy(KMS, POLICY, "d" * 64, "policy.yaml", "a" * 64, block, (1, 2), direct)


def test_the_last_applied_policy_of_a_kms_comes_back_whole(store: SqlStore) -> None:
    assert store.last_applied_policy(KMS) is None
    store.record_applied_policy(applied(10), actor="cli:alice")
    second = store.record_applied_policy(applied(20, direct=(bytes(range(32)),)), actor="cli:bob")

    last = store.last_applied_policy(KMS.lower())  # type: ignore[arg-type]
    assert last == second
    assert (last.block, last.proposal_ids, last.direct_txs, last.applied_by) == (20, (1, 2), (bytes(range(32)),),
                                                                                 "cli:bob")  # fmt: skip
    assert last.applied_at == START and last.spec.sets["osImages"] == {b"\x11" * 32}
    entry = store.audit()[-1]
    assert (entry.event, entry.actor, entry.detail["planHash"]) == ("policy-applied", "cli:bob", "a" * 64)


def test_executed_by_maps_only_executed_proposals(store: SqlStore) -> None:
    done = store.create_proposal(new_proposal(1, state=S.EXECUTING), actor="a")
    tx, other = bytes(range(32)), bytes(range(1, 33))
    store.transition(done.id, S.EXECUTED, actor="x", expected=[S.EXECUTING], execution_tx_hash=tx)
    failed = store.create_proposal(new_proposal(2, state=S.EXECUTING), actor="a")
    store.transition(failed.id, S.FAILED, actor="x", expected=[S.EXECUTING], execution_tx_hash=other)

    assert store.executed_by({tx, other, b"\x00" * 32}) == {tx: done.id}
    assert store.executed_by(set()) == {}
