"""Creating, reading, finding and listing proposals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from proposals.errors import Conflict, InvalidInput, NotFound
from proposals.models import ProposalKind, ProposalState, SafeTxData
from proposals.store import SqlStore
from tests.store.factories import KMS, OTHER_SAFE, SAFE, START, Clock, new_proposal

S = ProposalState


def test_create_then_get_returns_the_same_proposal(store: SqlStore) -> None:
    new = new_proposal(7, expires_at=START + timedelta(days=3))
    created = store.create_proposal(new, actor="telegram:1001")
    fetched = store.get(created.id)
    assert fetched == created
    assert (fetched.state, fetched.kind, fetched.nonce, fetched.safe) == (S.PENDING, ProposalKind.CHANGE, 7, SAFE)
    assert fetched.safe_tx == new.safe_tx
    assert fetched.safe_tx.value == 2**256 - 1
    assert fetched.safe_tx_hash == new.safe_tx_hash
    assert fetched.actions == new.actions
    assert fetched.created_at == fetched.updated_at == START
    assert fetched.created_at.tzinfo is not None and fetched.created_at.utcoffset() == timedelta(0)
    assert fetched.expires_at == START + timedelta(days=3)
    assert fetched.execution_tx_hash is None and fetched.failure_reason is None


def test_create_writes_a_created_audit_entry(store: SqlStore) -> None:
    created = store.create_proposal(new_proposal(1), actor="cli:alice")
    [entry] = store.audit(proposal_id=created.id)
    assert (entry.event, entry.actor, entry.at) == ("created", "cli:alice", START)
    assert entry.detail["safe_tx_hash"] == "0x" + created.safe_tx_hash.hex()
    assert entry.detail["nonce"] == 1 and entry.detail["state"] == "pending"


def test_addresses_are_stored_checksummed(store: SqlStore) -> None:
    new = new_proposal(1)
    lower = replace(new.safe_tx, safe=SAFE.lower(), to=KMS.lower())  # type: ignore[arg-type]
    created = store.create_proposal(replace(new, safe_tx=lower), actor="a")
    assert (created.safe, created.safe_tx.to) == (SAFE, KMS)
    assert [p.id for p in store.list_proposals(safe=SAFE.lower())] == [created.id]  # type: ignore[arg-type]


def test_other_timezones_come_back_as_utc(store: SqlStore) -> None:
    from datetime import timezone

    expiry = datetime(2026, 2, 1, 9, 30, tzinfo=timezone(timedelta(hours=5)))
    created = store.create_proposal(new_proposal(1, expires_at=expiry), actor="a")
    assert store.get(created.id).expires_at == expiry
    assert store.get(created.id).expires_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]


def test_get_missing_raises_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="no proposal #42"):
        store.get(42)


def test_find_by_hash(store: SqlStore) -> None:
    created = store.create_proposal(new_proposal(3), actor="a")
    assert store.find_by_hash(created.safe_tx_hash) == created
    assert store.find_by_hash(b"\x99" * 32) is None


def test_a_withdrawn_change_can_be_proposed_again(store: SqlStore) -> None:
    first = store.create_proposal(new_proposal(3), actor="a")
    store.transition(first.id, ProposalState.CANCELLED, actor="a", expected=[ProposalState.PENDING])
    again = store.create_proposal(new_proposal(3), actor="a")
    assert again.id != first.id and again.safe_tx_hash == first.safe_tx_hash
    assert store.find_by_hash(first.safe_tx_hash) == again  # the open one wins
    store.transition(again.id, ProposalState.EXPIRED, actor="a", expected=[ProposalState.PENDING])
    assert store.find_by_hash(first.safe_tx_hash).id == again.id  # else the newest


def test_duplicate_safe_tx_hash_is_a_conflict(store: SqlStore) -> None:
    first = store.create_proposal(new_proposal(3), actor="a")
    with pytest.raises(Conflict, match=f"already proposal #{first.id}"):
        store.create_proposal(new_proposal(3), actor="b")
    assert len(store.list_proposals()) == 1
    assert [e.event for e in store.audit()] == ["created"]


def test_rejection_points_at_the_proposal_it_rejects(store: SqlStore) -> None:
    change = store.create_proposal(new_proposal(4), actor="a")
    rejection = store.create_proposal(new_proposal(4, kind=ProposalKind.REJECTION, rejects=change.id), actor="a")
    assert (rejection.kind, rejection.rejects) == (ProposalKind.REJECTION, change.id)
    with pytest.raises(NotFound, match="no proposal #999 to reject"):
        store.create_proposal(new_proposal(5, kind=ProposalKind.REJECTION, rejects=999), actor="a")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"safe_tx_hash": b"\x01" * 31}, "safeTxHash: expected 32 bytes"),
        ({"expires_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_input_is_refused(store: SqlStore, change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        store.create_proposal(replace(new_proposal(1), **change), actor="a")  # type: ignore[arg-type]
    assert store.list_proposals() == []


def test_bad_address_is_refused(store: SqlStore) -> None:
    new = new_proposal(1)
    broken = replace(new, safe_tx=SafeTxData(**{**new.safe_tx.__dict__, "safe": "0x1234"}))
    with pytest.raises(InvalidInput, match="safe: not an address"):
        store.create_proposal(broken, actor="a")


def test_list_is_newest_first_with_filters(store: SqlStore, clock: Clock) -> None:
    ids = {}
    for nonce, state, safe in [
        (0, S.EXECUTED, SAFE),
        (1, S.PENDING, SAFE),
        (2, S.APPROVED, SAFE),
        (2, S.PENDING, OTHER_SAFE),
        (3, S.DRAFT, SAFE),
        (1, S.SUPERSEDED, SAFE),
    ]:
        clock.advance(1)
        ids[(nonce, state, safe)] = store.create_proposal(
            new_proposal(nonce, state=state, safe=safe, seed=state), actor="a"
        ).id
    everything = store.list_proposals()
    assert [p.id for p in everything] == sorted(ids.values(), reverse=True)
    assert [p.created_at for p in everything] == sorted((p.created_at for p in everything), reverse=True)

    pending = store.list_proposals(states=[S.PENDING])
    assert [(p.nonce, p.safe) for p in pending] == [(2, OTHER_SAFE), (1, SAFE)]
    open_here = store.list_proposals(states=[S.PENDING, S.APPROVED], safe=SAFE)
    assert [p.nonce for p in open_here] == [2, 1]
    assert [p.state for p in store.list_proposals(safe=SAFE, nonce=1)] == [S.SUPERSEDED, S.PENDING]
    assert store.list_proposals(states=[]) == []
    assert store.list_proposals(nonce=99) == []
    assert store.count_proposals() == 6
    assert store.count_proposals(states=[S.PENDING]) == 2
    assert store.count_proposals(states=[S.PENDING], safe=SAFE, nonce=1) == 1


def test_pagination(store: SqlStore) -> None:
    ids = [store.create_proposal(new_proposal(n), actor="a").id for n in range(25)]
    newest_first = list(reversed(ids))
    pages = [[p.id for p in store.list_proposals(limit=10, offset=offset)] for offset in (0, 10, 20, 30)]
    assert pages == [newest_first[:10], newest_first[10:20], newest_first[20:], []]
    assert store.list_proposals(limit=0) == []
    with pytest.raises(InvalidInput):
        store.list_proposals(limit=-1)


def test_reserved_nonces_count_only_open_states(store: SqlStore) -> None:
    for nonce, state in enumerate(S):
        store.create_proposal(new_proposal(nonce, state=state), actor="a")
    store.create_proposal(new_proposal(1, state=S.PENDING, seed="replacement"), actor="a")
    store.create_proposal(new_proposal(50, state=S.PENDING, safe=OTHER_SAFE), actor="a")
    by_nonce = dict(enumerate(S))
    expected = {n for n, state in by_nonce.items() if state in {S.PENDING, S.APPROVED, S.EXECUTING, S.FAILED}}
    assert store.reserved_nonces(SAFE) == expected
    assert store.reserved_nonces(OTHER_SAFE) == {50}
    assert store.reserved_nonces(KMS) == set()
