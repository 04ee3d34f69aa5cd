"""Compose files kept with their proposal (0006): written in its transaction, found by proposal and by hash."""

from __future__ import annotations

from dataclasses import replace

import pytest

from proposals.errors import InvalidInput
from proposals.models import ComposeRecord
from proposals.store import SqlStore
from tests.store.factories import address, new_proposal

APP = address("app")
FIRST, SECOND = b"\x01" * 32, b"\x02" * 32


def test_compose_files_round_trip_and_are_found_by_hash(store: SqlStore) -> None:
    records = (ComposeRecord(1, APP, SECOND, b'{"runner":"bash"}', FIRST), ComposeRecord(0, APP, FIRST, b"{}"))
    filed = store.create_proposal(replace(new_proposal(1), composes=records), actor="test")
    assert store.composes(filed.id) == [records[1], records[0]]
    assert store.compose_by_hash(SECOND) == b'{"runner":"bash"}' and store.compose_by_hash(b"\x03" * 32) is None
    later = store.create_proposal(replace(new_proposal(2), composes=(ComposeRecord(0, APP, FIRST, b"{ }"),)),
                                  actor="test")  # fmt: skip
    assert store.compose_by_hash(FIRST) == b"{ }"  # the newest file behind the hash
    assert store.composes(later.id) == [ComposeRecord(0, APP, FIRST, b"{ }")]
    plain = store.create_proposal(new_proposal(3), actor="test")
    assert store.composes(plain.id) == []


def test_a_bad_compose_record_files_nothing(store: SqlStore) -> None:
    with pytest.raises(InvalidInput, match="compose hash: expected 32 bytes"):
        store.create_proposal(replace(new_proposal(1), composes=(ComposeRecord(0, APP, b"short", b"{}"),)),
                              actor="test")  # fmt: skip
    assert store.list_proposals() == [] and store.audit() == []
