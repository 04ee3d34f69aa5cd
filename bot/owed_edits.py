"""Announcement edits owed, kept in the database: any replica marks them, the leader settles them.

Every replica's service reports each change it makes (a signature posted to its API, a reconcile
pass); the mark (bot_stale_messages) outlives the process. The leader looks every SETTLE_INTERVAL:
it executes a proposal a follower brought to quorum (followers never execute), brings the message
up to date, and clears the mark only once the message shows it. A leader that dies in between
leaves the mark for the next one, so no edit is lost across a takeover.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.announcer import Announcer
from bot.core import Core
from bot.store import BotStore
from proposals.errors import GovernanceError, NotFound
from proposals.models import ProposalState
from proposals.service import GovernanceService

log = logging.getLogger(__name__)
SETTLE_INTERVAL = 1.0


def mark_listener(bot_store: BotStore) -> Callable[[int, str], None]:
    """Return a service listener that marks a changed proposal's message as owing an edit."""

    def listener(proposal_id: int, _event: str) -> None:
        try:
            bot_store.mark_stale(proposal_id)
        except Exception:  # the watcher's catch-up still finds the change: never fail the change itself
            log.warning("could not mark proposal %s's message for an edit", proposal_id, exc_info=True)

    return listener


def execute_if_approved(service: GovernanceService, proposal_id: int) -> None:
    """Execute a proposal that reached quorum on a follower (which never executes); blocking."""
    if service.executes and service.get(proposal_id).state is ProposalState.APPROVED:
        service.after_signature(proposal_id)


class OwedEdits:
    """The leader's loop that settles owed edits."""

    def __init__(self, core: Core, bot_store: BotStore, announcer: Announcer) -> None:
        self.core = core
        self.bot_store = bot_store
        self.announcer = announcer

    async def run(self) -> None:
        """Settle owed edits until cancelled."""
        while True:
            try:
                owed = await self.core.run(self.bot_store.stale_messages)
                await asyncio.gather(*(self._settle(pid, version) for pid, version in owed))
            except GovernanceError as exc:  # the database is away: the marks wait for the next look
                log.warning("owed message edits: %s", exc.message)
            await asyncio.sleep(SETTLE_INTERVAL)

    async def _settle(self, proposal_id: int, version: int) -> None:
        try:
            await self.core.write(execute_if_approved, self.core.service, proposal_id)
        except NotFound:
            await self.core.run(self.bot_store.clear_stale, proposal_id, version)
            return
        except GovernanceError as exc:
            log.info("proposal %s: not executed now: %s", proposal_id, exc.message)
        if await self.announcer.settled(proposal_id):
            await self.core.run(self.bot_store.clear_stale, proposal_id, version)
