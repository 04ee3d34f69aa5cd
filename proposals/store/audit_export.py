"""Render audit entries for export: a JSON list of objects, or CSV with the detail as a JSON string."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from proposals.models import AuditEntry

CSV_COLUMNS = ("id", "at", "proposal_id", "actor", "event", "detail")


def audit_entry_object(entry: AuditEntry) -> dict[str, Any]:
    """Return one entry as a JSON-ready object (`at` in ISO 8601)."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "proposal_id": entry.proposal_id,
        "actor": entry.actor,
        "event": entry.event,
        "detail": dict(entry.detail),
    }


def audit_to_json(entries: Iterable[AuditEntry]) -> str:
    """Return the entries as a JSON array of objects."""
    return json.dumps([audit_entry_object(entry) for entry in entries], indent=2, sort_keys=False)


def audit_to_csv(entries: Iterable[AuditEntry]) -> str:
    """Return the entries as CSV: id, at, proposal_id (empty when none), actor, event, detail (JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        proposal = "" if entry.proposal_id is None else entry.proposal_id
        detail = json.dumps(dict(entry.detail), sort_keys=True, separators=(",", ":"))
        writer.writerow((entry.id, entry.at.isoformat(), proposal, entry.actor, entry.event, detail))
    return buffer.getvalue()
