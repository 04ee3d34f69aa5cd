"""/link from the signing page: the same challenge and checks as the chat command (bot.links).

The page runs as a Mini App, so the API knows the Telegram user from checked initData; the proposal
names the Safe, whose signers' chat the link is for. Runs in the API's worker threads (blocking).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from eth_typing import ChecksumAddress

from bot import links
from bot.settings import BotSettings
from bot.store import BotStore
from proposals.errors import Unauthorized
from proposals.service import GovernanceService


class TelegramUser(Protocol):
    """The Telegram user the API took from checked initData (dstack_gov.telegram_init_data.TelegramUser)."""

    @property
    def user_id(self) -> int:
        """Return the Telegram user id."""

    @property
    def name(self) -> str:
        """Return the name to show for the user."""


class PageLinker:
    """Issue and complete /link challenges for the page; refresh the Safe's announcements after a link."""

    def __init__(self, service: GovernanceService, store: BotStore, settings: BotSettings) -> None:
        self.service = service
        self.store = store
        self.settings = settings
        # Set by the composition root once the bot runs: brings one announcement up to date (any thread).
        self.refresh: Callable[[int], None] | None = None

    def _chat(self, safe: ChecksumAddress) -> int:
        chat = self.settings.chat_for(safe)
        if chat is None:
            raise Unauthorized(f"Safe {safe} has no signers' chat to link owners in")
        return chat

    def challenge(self, user: TelegramUser, owner: ChecksumAddress, safe: ChecksumAddress) -> str:
        """Return a fresh challenge for `user` to sign with `owner`'s key."""
        issued = links.issue(self.service, self.store, user.user_id, self._chat(safe), owner, (safe,))
        return issued.text

    def complete(self, user: TelegramUser, owner: ChecksumAddress, signature: str, safe: ChecksumAddress) -> None:
        """Check the signed challenge, store the link, and refresh the announcements that mention owners."""
        self._chat(safe)
        links.complete(self.service, self.store, user.user_id, user.name, owner, signature, (safe,))
        if self.refresh is not None:
            for proposal in self.service.open_proposals_of([safe]):
                self.refresh(proposal.id)
