"""Owners' signatures: one per owner and proposal, and dropped ones kept in the audit log."""

from __future__ import annotations

from dataclasses import replace

import pytest

from proposals.errors import Conflict, NotFound
from proposals.models import SignatureKind
from proposals.store import SqlStore
from tests.store.factories import OWNERS, START, Clock, new_proposal, new_signature


def test_add_and_list_oldest_first(store: SqlStore, clock: Clock) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    other = store.create_proposal(new_proposal(2), actor="a")
    stored = []
    for owner in (OWNERS[2], OWNERS[0], OWNERS[1]):
        clock.advance(5)
        stored.append(store.add_signature(new_signature(proposal.id, owner), actor=f"telegram:{owner[:6]}"))
    store.add_signature(new_signature(other.id, OWNERS[0]), actor="a")
    listed = store.signatures(proposal.id)
    assert listed == stored
    assert [s.owner for s in listed] == [OWNERS[2], OWNERS[0], OWNERS[1]]
    assert [s.created_at for s in listed] == [
        START.replace(second=5),
        START.replace(second=10),
        START.replace(second=15),
    ]
    first = listed[0]
    assert (first.kind, first.source, first.proposal_id) == (SignatureKind.EIP712, "telegram", proposal.id)
    assert first.signature == new_signature(proposal.id, OWNERS[2]).signature
    assert store.signatures(other.id)[0].owner == OWNERS[0]
    assert store.signatures(12345) == []


def test_signature_is_audited_with_its_bytes(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    sig = store.add_signature(new_signature(proposal.id), actor="telegram:7")
    entry = store.audit(proposal_id=proposal.id)[-1]
    assert (entry.event, entry.actor) == ("signature", "telegram:7")
    assert entry.detail == {
        "owner": OWNERS[0],
        "kind": "eip712",
        "source": "telegram",
        "signature": "0x" + sig.signature.hex(),
    }


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda a: a])
def test_duplicate_owner_is_refused_whatever_the_case(store: SqlStore, spelling: object) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    store.add_signature(new_signature(proposal.id, OWNERS[0]), actor="a")
    raw = OWNERS[0][2:]
    again = "0x" + spelling(raw)  # type: ignore[operator]
    with pytest.raises(Conflict, match=f"^{OWNERS[0]} already signed proposal #{proposal.id}$"):
        store.add_signature(replace(new_signature(proposal.id, OWNERS[0]), owner=again, source="cli"), actor="b")
    assert len(store.signatures(proposal.id)) == 1
    assert [e.event for e in store.audit(proposal_id=proposal.id)] == ["created", "signature"]


def test_owner_is_stored_checksummed(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    sig = store.add_signature(replace(new_signature(proposal.id), owner=OWNERS[0].lower()), actor="a")  # type: ignore[arg-type]
    assert sig.owner == OWNERS[0]
    assert store.signatures(proposal.id)[0].owner == OWNERS[0]


def test_signature_on_a_missing_proposal(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="no proposal #77"):
        store.add_signature(new_signature(77), actor="a")


def test_remove_keeps_the_bytes_in_the_audit_log(store: SqlStore, clock: Clock) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    kept = store.add_signature(new_signature(proposal.id, OWNERS[1]), actor="a")
    dropped = store.add_signature(new_signature(proposal.id, OWNERS[0]), actor="a")
    clock.advance(30)
    store.remove_signature(proposal.id, OWNERS[0].lower(), actor="reconciler", reason="no longer an owner")  # type: ignore[arg-type]
    assert store.signatures(proposal.id) == [kept]
    entry = store.audit(proposal_id=proposal.id)[-1]
    assert (entry.event, entry.actor, entry.at) == ("signature-dropped", "reconciler", clock.now)
    assert entry.detail["signature"] == "0x" + dropped.signature.hex()
    assert entry.detail["owner"] == OWNERS[0]
    assert entry.detail["reason"] == "no longer an owner"
    assert entry.detail["kind"] == "eip712"
    # The owner may sign again once the old signature is gone.
    store.add_signature(new_signature(proposal.id, OWNERS[0]), actor="a")
    assert [s.owner for s in store.signatures(proposal.id)] == [OWNERS[1], OWNERS[0]]


def test_remove_what_is_not_there(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    with pytest.raises(NotFound, match="has no signature"):
        store.remove_signature(proposal.id, OWNERS[3], actor="a", reason="r")
    with pytest.raises(NotFound, match="no proposal #404"):
        store.remove_signature(404, OWNERS[3], actor="a", reason="r")
    assert [e.event for e in store.audit()] == ["created"]
