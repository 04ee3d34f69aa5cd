"""Proposal lifecycle moves: a compare-and-set transition in the store, then word to every subscriber.

The service, reconciliation, recovery and the executing claim all change proposals through this one
object, so every change is audited by the store and announced to the front ends the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from proposals.models import TERMINAL_STATES, Proposal, ProposalState
from proposals.store.base import Store

log = logging.getLogger(__name__)
# Called with (proposal id, event) after every change.
Listener = Callable[[int, str], None]


class Lifecycle:
    """Moves proposals between states and tells the subscribers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(proposal_id, event)` after every change."""
        self._listeners.append(listener)

    def notify(self, proposal_id: int, event: str) -> None:
        """Tell every subscriber that `proposal_id` changed (`event` says how)."""
        for listener in self._listeners:
            try:
                listener(proposal_id, event)
            except Exception:  # a front end's failure must not undo a recorded change
                log.exception("listener failed for proposal %s (%s)", proposal_id, event)

    def move(
        self, proposal: Proposal, new_state: ProposalState, actor: str, detail: dict[str, object], **fields: object
    ) -> Proposal:
        """Move `proposal` from the state it was read in to `new_state` (Conflict if it moved meanwhile)."""
        updated = self.store.transition(
            proposal.id, new_state, actor=actor, expected=[proposal.state], detail=detail, **fields
        )
        self.notify(proposal.id, new_state.value)
        return updated

    def end(self, proposal_id: int, new_state: ProposalState, actor: str, detail: dict[str, object]) -> Proposal:
        """Move any non-terminal proposal to the terminal `new_state`; one already ended stays as it is."""
        current = self.store.get(proposal_id)
        if current.state in TERMINAL_STATES:
            return current
        return self.move(current, new_state, actor, detail)
