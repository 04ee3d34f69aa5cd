"""Bridge the core's change notifications to the event loop.

`GovernanceService.subscribe` calls its listeners synchronously, from whichever thread made the
change (a handler's worker, the scheduler, the HTTP API). The listener only hands the proposal id
to the loop; rendering and sending happen there, never in the core's thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """A thread-safe `listener(proposal_id, event)` that schedules `on_change` on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_change: Callable[[int, str], None]) -> None:
        self._loop = loop
        self._on_change = on_change
        self._open = True

    def __call__(self, proposal_id: int, event: str) -> None:
        if not self._open:
            return
        try:
            self._loop.call_soon_threadsafe(self._deliver, proposal_id, event)
        except RuntimeError:  # the loop is closed: the process is going away, the store has the change
            log.debug("notification for proposal %s dropped: loop closed", proposal_id)

    def _deliver(self, proposal_id: int, event: str) -> None:
        if self._open:
            self._on_change(proposal_id, event)

    def close(self) -> None:
        """Ignore further notifications (the service keeps its listeners for its lifetime)."""
        self._open = False
