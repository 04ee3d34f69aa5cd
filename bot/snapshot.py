"""Everything a rendering needs about one proposal, gathered in one (blocking) pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.store import BotStore, Link
from proposals.service import GovernanceService
from proposals.views import ProposalView


@dataclass(frozen=True)
class Change:
    """One expected state difference recorded when the proposal was planned."""

    action: str
    what: str
    before: str
    after: str


@dataclass(frozen=True)
class Snapshot:
    """A proposal view plus what the bot adds: the planned diff, planning warnings, owner links."""

    view: ProposalView
    changes: tuple[Change, ...]
    plan_warnings: tuple[str, ...]
    links: Mapping[str, Link]  # lowercase owner address -> link


def _planned(service: GovernanceService, proposal_id: int) -> tuple[tuple[Change, ...], tuple[str, ...]]:
    for entry in service.store.audit(proposal_id=proposal_id, limit=5):
        if entry.event != "planned":
            continue
        raw_changes = entry.detail.get("changes") or []
        changes = tuple(
            Change(str(c.get("action", "")), str(c.get("what", "")), str(c.get("before", "")), str(c.get("after", "")))
            for c in raw_changes
            if isinstance(c, Mapping)
        )
        warnings = tuple(str(w) for w in entry.detail.get("warnings") or ())
        return changes, warnings
    return (), ()


def load_snapshot(service: GovernanceService, bot_store: BotStore, proposal_id: int) -> Snapshot:
    """Read the proposal, its live signature validity and the owner links (blocks: call off the loop)."""
    view = service.view(proposal_id)
    changes, warnings = _planned(service, proposal_id)
    return Snapshot(view, changes, warnings, bot_store.links())
