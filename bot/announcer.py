"""Keep each proposal's one message in line with the store: announce once, then edit in place.

Requests for one proposal are coalesced: while its message is being rendered and sent, further
changes only mark it dirty, and one more pass follows. Passes for different proposals run
concurrently, a few at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable

from bot.core import Core
from bot.outbox import Edit, Outbox
from bot.render import (
    CANCELLABLE,
    RenderOptions,
    announcement_keyboard,
    announcement_text,
    confirm_cancel_keyboard,
    mismatch_text,
    outcome_text,
)
from bot.settings import BotSettings
from bot.snapshot import Snapshot, load_snapshot
from bot.store import BotStore
from proposals.errors import ActionsMismatch, NotFound
from proposals.models import OPEN_STATES, Proposal, ProposalState

log = logging.getLogger(__name__)
# Called after every pass with the fresh snapshot (the scheduler keeps reminders/expiry in line).
AfterSync = Callable[[Snapshot], Awaitable[None]]
# How long the "Yes, cancel / No" buttons stay up after Cancel was pressed.
CONFIRM_WINDOW = 120.0
MAX_RETRY_DELAY = 600.0


def digest(text: str, keyboard: object) -> str:
    """Return a fingerprint of what a message shows."""
    payload = json.dumps([text, keyboard], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def outcome_key(proposal: Proposal) -> str:
    """Return the identity of an execution outcome, so each one is posted once."""
    if proposal.state is ProposalState.EXECUTED:
        return "executed"
    if proposal.state is ProposalState.FAILED:
        return f"failed:{proposal.updated_at.isoformat()}"[:100]
    return ""


def render_options(settings: BotSettings, safe: str, bot_username: str | None = None) -> RenderOptions:
    """Return the rendering options for a proposal of `safe` (the bot's username makes the Mini App link)."""
    chat = settings.chat_for(safe)
    mini_app = None
    if settings.mini_app and bot_username:
        mini_app = f"https://t.me/{bot_username}/{settings.mini_app}?startapp={{id}}"
    return RenderOptions(
        safe_name=settings.safe_label(safe),
        explorer_tx_url=settings.explorer_tx_url,
        explorer_address_url=settings.explorer_address_url,
        signing_url=settings.signing_url,
        mini_app_url=mini_app,
        private_chat=chat is not None and chat > 0,  # Telegram: users have positive ids, groups negative
    )


class Announcer:
    """Announces proposals in their Safe's chat and edits the message on every change."""

    def __init__(
        self,
        core: Core,
        bot_store: BotStore,
        outbox: Outbox,
        settings: BotSettings,
        *,
        after_sync: AfterSync | None = None,
        concurrency: int = 4,
        retry_delay: float = 30.0,
    ) -> None:
        self.core = core
        self.bot_store = bot_store
        self.outbox = outbox
        self.settings = settings
        self.after_sync = after_sync
        self.retry_delay = retry_delay
        self._slots = asyncio.Semaphore(concurrency)
        self._dirty: set[int] = set()
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._confirming: dict[int, float] = {}
        self._failures: dict[int, int] = {}
        self._closing = False

    def request(self, proposal_id: int) -> None:
        """Bring proposal `proposal_id`'s message up to date soon (call on the event loop)."""
        if self._closing:
            return
        self._dirty.add(proposal_id)
        if proposal_id not in self._workers:
            self._workers[proposal_id] = asyncio.create_task(self._work(proposal_id), name=f"announce-{proposal_id}")

    async def refresh(self, proposal_id: int, *, patience: float = 5.0) -> None:
        """Bring the message up to date, waiting for it a little (a button press must be answered soon)."""
        self.request(proposal_id)
        worker = self._workers.get(proposal_id)
        if worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker), patience)

    async def settled(self, proposal_id: int) -> bool:
        """Bring the message up to date and wait for it; False when the pass failed (it is retried later)."""
        self.request(proposal_id)
        worker = self._workers.get(proposal_id)
        if worker is not None:
            await asyncio.shield(worker)
        return not self._closing and proposal_id not in self._failures

    def ask_cancel_confirmation(self, proposal_id: int) -> None:
        """Show "Yes, cancel / No" instead of the buttons for a while (every edit keeps them)."""
        self._confirming[proposal_id] = asyncio.get_running_loop().time() + CONFIRM_WINDOW

    def end_cancel_confirmation(self, proposal_id: int) -> None:
        """Go back to the normal buttons."""
        self._confirming.pop(proposal_id, None)

    def _is_confirming(self, proposal_id: int) -> bool:
        until = self._confirming.get(proposal_id)
        if until is not None and until < asyncio.get_running_loop().time():
            self._confirming.pop(proposal_id, None)
            return False
        return until is not None

    async def drain(self, grace: float = 30.0) -> None:
        """Finish pending passes (at shutdown, within `grace` seconds); later requests are ignored."""
        deadline = asyncio.get_running_loop().time() + grace
        while self._workers:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                log.warning("gave up waiting for %d message update(s)", len(self._workers))
                break
            await asyncio.wait(list(self._workers.values()), timeout=remaining)
        self._closing = True

    @property
    def busy(self) -> bool:
        """Return True while a pass is pending or running."""
        return bool(self._workers)

    async def _work(self, proposal_id: int) -> None:
        try:
            while proposal_id in self._dirty:
                self._dirty.discard(proposal_id)
                async with self._slots:
                    ok = await self._sync_safely(proposal_id)
                if ok:
                    self._failures.pop(proposal_id, None)
                elif not self._closing:
                    # Telegram down, or the bot removed from the chat: try again, less and less often.
                    failures = self._failures[proposal_id] = self._failures.get(proposal_id, 0) + 1
                    delay = min(MAX_RETRY_DELAY, self.retry_delay * 2 ** (failures - 1))
                    asyncio.get_running_loop().call_later(delay, self.request, proposal_id)
        finally:
            self._workers.pop(proposal_id, None)

    async def _sync_safely(self, proposal_id: int) -> bool:
        try:
            await self.sync(proposal_id)
        except NotFound:
            return True
        except Exception:  # a failed pass is retried later; it must never take the bot down
            log.exception("could not update the message of proposal %s", proposal_id)
            return False
        return True

    async def sync(self, proposal_id: int) -> None:
        """Render the proposal and send or edit its message; post the outcome of an execution once."""
        try:
            snapshot = await self.core.run(load_snapshot, self.core.service, self.bot_store, proposal_id)
        except ActionsMismatch:
            await self._withhold(proposal_id)
            return
        proposal = snapshot.view.proposal
        options = render_options(self.settings, proposal.safe, self.outbox.username)
        text = announcement_text(snapshot, options)
        keyboard = announcement_keyboard(snapshot.view, options)
        if proposal.state in CANCELLABLE and self._is_confirming(proposal_id):
            keyboard = confirm_cancel_keyboard(proposal_id)
        fingerprint = digest(text, keyboard.to_dict())
        row = await self.core.run(self.bot_store.announcement, proposal_id)
        if row is not None and row.chat_id != self.settings.chat_for(proposal.safe):
            row = None  # the Safe now meets elsewhere (or nowhere): its old chat hears nothing more of it
        if row is None:
            if proposal.state not in OPEN_STATES:
                return  # history from before the bot: nothing to ask anyone
            await self._announce(proposal, text, keyboard, fingerprint)
        elif row.digest != fingerprint:
            edited = await self.outbox.edit(row.chat_id, row.message_id, text, keyboard)
            if edited is Edit.GONE:
                await self._announce(proposal, text, keyboard, fingerprint)
            else:
                await self.core.run(self.bot_store.update_announcement, proposal_id, digest=fingerprint)
        await self._post_outcome(proposal, options)
        if self.after_sync is not None:
            await self.after_sync(snapshot)

    async def _announce(self, proposal: Proposal, text: str, keyboard: object, fingerprint: str) -> None:
        chat = self.settings.chat_for(proposal.safe)
        if chat is None:
            log.warning("proposal %s: Safe %s has no telegram_chat_id; not announced", proposal.id, proposal.safe)
            return
        message = await self.outbox.send(chat, text, keyboard=keyboard)  # type: ignore[arg-type]
        await self.core.run(self.bot_store.save_announcement, proposal.id, chat, message.message_id, fingerprint)
        await self.core.run(self.core.service.record_announcement, proposal.id, actor="telegram", chat_id=chat,
                            message_id=message.message_id)  # fmt: skip

    async def _withhold(self, proposal_id: int) -> None:
        """Say once, in place of the announcement, that a proposal whose actions disagree cannot be shown."""
        proposal = await self.core.run(self.core.service.get, proposal_id)
        chat = self.settings.chat_for(proposal.safe)
        if chat is None:
            return
        text = mismatch_text(proposal.id)
        fingerprint = digest(text, None)
        row = await self.core.run(self.bot_store.announcement, proposal_id)
        if row is not None and row.chat_id == chat:
            if row.digest == fingerprint:
                return  # said already
            # Announced before its stored actions changed: the message must stop showing them.
            if await self.outbox.edit(chat, row.message_id, text, None) is not Edit.GONE:
                await self.core.run(self.bot_store.update_announcement, proposal_id, digest=fingerprint)
                log.warning("proposal %s: stored actions do not match its calldata; its message withdrawn", proposal_id)
                return
        elif proposal.state not in OPEN_STATES:
            return  # history from before the bot: nothing to ask anyone
        message = await self.outbox.send(chat, text)
        await self.core.run(self.bot_store.save_announcement, proposal_id, chat, message.message_id, fingerprint)
        log.warning("proposal %s: stored actions do not match its calldata; not shown", proposal_id)

    async def _post_outcome(self, proposal: Proposal, options: RenderOptions) -> None:
        key = outcome_key(proposal)
        if not key:
            return
        row = await self.core.run(self.bot_store.announcement, proposal.id)
        if row is None or row.outcome == key or row.chat_id != self.settings.chat_for(proposal.safe):
            return
        text = outcome_text(proposal, options)
        if text is not None:
            await self.outbox.send(row.chat_id, text, reply_to=row.message_id)
        await self.core.run(self.bot_store.update_announcement, proposal.id, outcome=key)
