"""Cursors, and everything surviving a restart (a new store on the same database)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from proposals.errors import InvalidInput
from proposals.models import ProposalState
from proposals.store import SqlStore
from tests.store.factories import Clock, new_proposal, new_signature


def test_cursors(store: SqlStore) -> None:
    assert store.get_cursor("reconcile:block") is None
    store.set_cursor("reconcile:block", 100)
    store.set_cursor("reconcile:block", 2**62)
    store.set_cursor("tx-service:modified", 0)
    assert store.get_cursor("reconcile:block") == 2**62
    assert store.get_cursor("tx-service:modified") == 0
    assert store.get_cursor("other") is None
    with pytest.raises(InvalidInput):
        store.set_cursor("", 1)


def test_everything_survives_a_restart(open_at: Callable[[], SqlStore], clock: Clock) -> None:
    before = open_at()
    proposal = before.create_proposal(new_proposal(3), actor="a")
    clock.advance(1)
    before.transition(proposal.id, ProposalState.APPROVED, actor="bot", expected=[ProposalState.PENDING])
    before.add_signature(new_signature(proposal.id), actor="a")
    before.set_cursor("reconcile:block", 77)
    snapshot = (before.get(proposal.id), before.signatures(proposal.id), before.audit())
    before.close()

    after = open_at()
    assert (after.get(proposal.id), after.signatures(proposal.id), after.audit()) == snapshot
    assert after.get_cursor("reconcile:block") == 77
    assert after.reserved_nonces(proposal.safe) == {3}
    second = after.create_proposal(new_proposal(4), actor="a")
    assert second.id > proposal.id
