"""The Transaction Service outbox: one entry per (safeTxHash, signer), due entries in order, retries kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proposals.errors import NotFound
from proposals.store import SqlStore
from proposals.tx_outbox import NewOutboxEntry, OutboxStatus, SignerRole
from tests.store.factories import OWNERS, START, new_proposal


def test_enqueue_once_then_due_in_order_and_settled(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    h = proposal.safe_tx_hash
    assert store.enqueue_tx_service(NewOutboxEntry(proposal.id, h, OWNERS[1], b"\x01" * 65), now=START)
    assert store.enqueue_tx_service(NewOutboxEntry(proposal.id, h, OWNERS[0], b"\x02" * 65), now=START)
    # The same signer again (the listener and the pull pass both saw it) is not a second entry.
    assert not store.enqueue_tx_service(NewOutboxEntry(proposal.id, h, OWNERS[1], b"\x03" * 65), now=START)
    due = store.due_tx_service(START)
    assert [(e.signer, e.signature[:1], e.role) for e in due] == [
        (OWNERS[1], b"\x01", SignerRole.OWNER),
        (OWNERS[0], b"\x02", SignerRole.OWNER),
    ]
    assert not store.tx_service_posted(h)
    later = START + timedelta(seconds=10)
    store.settle_tx_service(due[0].id, OutboxStatus.PENDING, now=START, error="503: down", retry_at=later)
    store.settle_tx_service(due[1].id, OutboxStatus.POSTED, now=START, posted_as="transaction")
    assert store.due_tx_service(START) == []
    (retry,) = store.due_tx_service(later)
    assert (retry.attempts, retry.last_error, retry.next_attempt_at) == (1, "503: down", later)
    assert store.tx_service_posted(h)
    posted = store.tx_service_entries(proposal_id=proposal.id, statuses=[OutboxStatus.POSTED])
    assert [(e.signer, e.posted_as, e.posted_at) for e in posted] == [(OWNERS[0], "transaction", START)]


def test_an_entry_for_a_missing_proposal_is_not_found(store: SqlStore) -> None:
    proposal = store.create_proposal(new_proposal(1), actor="a")
    store.enqueue_tx_service(NewOutboxEntry(proposal.id, proposal.safe_tx_hash, OWNERS[0], b"\x01"), now=START)
    with pytest.raises(NotFound):
        store.enqueue_tx_service(NewOutboxEntry(proposal.id + 99, proposal.safe_tx_hash, OWNERS[0], b"\x01"),
                                 now=START)  # fmt: skip
