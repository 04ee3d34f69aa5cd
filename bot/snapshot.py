"""Everything a rendering needs about one proposal, gathered in one (blocking) pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.store import BotStore, Link
from proposals.service import GovernanceService
from proposals.views import ProposalView


@dataclass(frozen=True)
class Change:
    """One expected state difference stored with the proposal when it was planned."""

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
    # Why an approved proposal is not executing yet: fees above the executor's ceiling.
    fee_wait: str | None = None


def _planned(view: ProposalView) -> tuple[tuple[Change, ...], tuple[str, ...]]:
    planned = view.proposal.planned
    if planned is None:
        return (), ()
    changes = tuple(Change(c.action, c.label, c.before, c.after) for c in planned.changes)
    return changes, planned.warnings


def load_snapshot(service: GovernanceService, bot_store: BotStore, proposal_id: int) -> Snapshot:
    """Read the proposal, its live signature validity and the owner links (blocks: call off the loop)."""
    view = service.view(proposal_id)
    changes, warnings = _planned(view)
    wait = service.fee_wait(proposal_id)
    return Snapshot(view, changes, warnings, bot_store.links(), wait.describe() if wait is not None else None)
