"""The append-only audit log: ordering, filters, refused edits and exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from proposals.errors import InvalidInput, NotFound
from proposals.models import AuditEntry, ProposalState
from proposals.store import SqlStore
from proposals.store.audit_export import CSV_COLUMNS, audit_to_csv, audit_to_json
from tests.store.factories import OWNERS, START, Clock, new_proposal, new_signature


def _history(store: SqlStore, clock: Clock) -> tuple[int, int]:
    first = store.create_proposal(new_proposal(1), actor="cli:alice").id
    clock.advance(10)
    second = store.create_proposal(new_proposal(2), actor="telegram:5").id
    clock.advance(10)
    store.record(first, actor="bot", event="announced", detail={"chat": -100123, "message": 17})
    store.add_signature(new_signature(first), actor="telegram:6")
    clock.advance(10)
    store.record(None, actor="scheduler", event="owners-refreshed", detail={"owners": OWNERS[:2], "threshold": 2})
    store.transition(second, ProposalState.CANCELLED, actor="cli:alice", expected=[ProposalState.PENDING])
    return first, second


def test_entries_come_in_insertion_order(store: SqlStore, clock: Clock) -> None:
    first, second = _history(store, clock)
    entries = store.audit()
    assert [(e.proposal_id, e.event) for e in entries] == [
        (first, "created"),
        (second, "created"),
        (first, "announced"),
        (first, "signature"),
        (None, "owners-refreshed"),
        (second, "state:pending->cancelled"),
    ]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert entries[2].detail == {"chat": -100123, "message": 17}
    assert entries[4].detail == {"owners": list(OWNERS[:2]), "threshold": 2}


def test_filters(store: SqlStore, clock: Clock) -> None:
    first, second = _history(store, clock)
    assert [e.event for e in store.audit(proposal_id=first)] == ["created", "announced", "signature"]
    assert [e.event for e in store.audit(proposal_id=second)] == ["created", "state:pending->cancelled"]
    since = [e.event for e in store.audit(since=START + timedelta(seconds=20))]
    assert since == ["announced", "signature", "owners-refreshed", "state:pending->cancelled"]
    assert [e.event for e in store.audit(since=START + timedelta(seconds=25))] == since[2:]
    assert [e.event for e in store.audit(limit=2)] == ["created", "created"]
    assert [e.event for e in store.audit(proposal_id=first, since=START + timedelta(seconds=5), limit=1)] == [
        "announced"
    ]
    assert store.audit(proposal_id=999) == []
    with pytest.raises(InvalidInput):
        store.audit(since=datetime(2026, 1, 1))


def test_record_rejects_unknown_proposals_and_keeps_odd_values(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.record(404, actor="bot", event="reminder", detail={})
    store.record(
        None, actor="bot", event="refused-signature", detail={"raw": b"\x00\xff", "state": ProposalState.PENDING}
    )
    [entry] = store.audit()
    assert entry.detail == {"raw": "0x00ff", "state": "pending"}


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"])
def test_the_database_refuses_to_edit_the_log(store: SqlStore, statement: str) -> None:
    store.record(None, actor="bot", event="announced", detail={})
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as connection:
        connection.execute(text(statement))
    assert [e.actor for e in store.audit()] == ["bot"]


def test_store_has_no_way_to_edit_the_log(store: SqlStore) -> None:
    editing = [name for name in dir(store) if "audit" in name and name != "audit"]
    assert editing == []
    assert not any(name.startswith(("update", "delete", "clear", "truncate")) for name in dir(store))


def _round_trip_json(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [
        AuditEntry(
            id=o["id"],
            at=datetime.fromisoformat(o["at"]),
            proposal_id=o["proposal_id"],
            actor=o["actor"],
            event=o["event"],
            detail=o["detail"],
        )
        for o in json.loads(audit_to_json(entries))
    ]


def _round_trip_csv(entries: list[AuditEntry]) -> list[AuditEntry]:
    reader = csv.DictReader(io.StringIO(audit_to_csv(entries)))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return [
        AuditEntry(
            id=int(r["id"]),
            at=datetime.fromisoformat(r["at"]),
            proposal_id=int(r["proposal_id"]) if r["proposal_id"] else None,
            actor=r["actor"],
            event=r["event"],
            detail=json.loads(r["detail"]),
        )
        for r in reader
    ]


@pytest.mark.parametrize("round_trip", [_round_trip_json, _round_trip_csv], ids=["json", "csv"])
def test_exports_round_trip(store: SqlStore, clock: Clock, round_trip: object) -> None:
    _history(store, clock)
    store.record(None, actor='quote " comma, newline\n', event="odd", detail={"text": 'ü, "x"\r\n'})
    entries = store.audit()
    assert round_trip(entries) == entries  # type: ignore[operator]
    assert round_trip([]) == []  # type: ignore[operator]


def test_export_formats() -> None:
    entry = AuditEntry(id=3, at=START, proposal_id=None, actor="bot", event="announced", detail={"b": 1, "a": [2]})
    assert json.loads(audit_to_json([entry])) == [
        {"id": 3, "at": "2026-01-01T12:00:00+00:00", "proposal_id": None, "actor": "bot", "event": "announced",
         "detail": {"b": 1, "a": [2]}}
    ]  # fmt: skip
    lines = audit_to_csv([entry]).splitlines()
    assert lines == [
        "id,at,proposal_id,actor,event,detail",
        '3,2026-01-01T12:00:00+00:00,,bot,announced,"{""a"":[2],""b"":1}"',
    ]
