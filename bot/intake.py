"""Telegram updates kept in the database before they are handled: a new leader loses none and repeats none.

Long polling (the leader only): getUpdates starts at the offset after the newest update kept
(bot_updates), and each update is kept before the next getUpdates confirms it to Telegram. An update
fetched by a leader that died before keeping it was never confirmed, so Telegram hands it over again.
Webhook: whichever replica Telegram reaches keeps the update and answers 200; the leader handles what
is kept (at once when the update reached it, else within DISPATCH_INTERVAL).

Each kept update is claimed (compare-and-set) before it is handled and marked handled after. One that
a dead leader had claimed but not finished is not replayed: it may have half-happened (a proposal
filed, its reply never sent), so it is logged and its sender may ask again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError

from bot.context import GovApplication
from bot.core import Core
from bot.outbox import Outbox
from bot.store import BotStore
from proposals.errors import GovernanceError

log = logging.getLogger(__name__)
DISPATCH_INTERVAL = 0.5
# Handled updates are forgotten after this long (the newest is kept: it carries the offset).
KEEP_HANDLED = timedelta(days=1)
MAX_BACKOFF = 30.0


class UpdateIntake:
    """Receives updates (long polling or webhook), keeps them, and handles each one once."""

    def __init__(
        self,
        application: GovApplication,
        core: Core,
        bot_store: BotStore,
        outbox: Outbox,
        *,
        allowed_updates: tuple[str, ...],
        polling_timeout: float,
        network_backoff: float,
        concurrency: int,
    ) -> None:
        self.application = application
        self.core = core
        self.bot_store = bot_store
        self.outbox = outbox
        self.allowed_updates = allowed_updates
        self.polling_timeout = polling_timeout
        self.network_backoff = network_backoff
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._handling: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def receive(self, update: Update) -> None:
        """Keep an update posted to this replica's webhook (any replica); the leader handles it."""
        await self.core.run(self.bot_store.record_update, update.update_id, json.dumps(update.to_dict()))
        self._wake.set()

    async def start(self, *, polling: bool) -> None:
        """Take over intake as the leader: settle what the previous leader left, then poll or dispatch."""
        interrupted = await self.core.run(self.bot_store.abandon_interrupted_updates)
        if interrupted:
            log.warning("update(s) %s were cut short by the previous leader; not handled again",
                        ", ".join(map(str, interrupted)))  # fmt: skip
        await self.core.run(self.bot_store.prune_updates, self.core.service.clock() - KEEP_HANDLED)
        if polling:
            await self.outbox.call("deleteWebhook", lambda: self.application.bot.delete_webhook(False))
        self._task = asyncio.create_task(self._poll() if polling else self._dispatch(), name="update-intake")

    async def stop(self, grace: float) -> None:
        """Stop taking updates (one fetched and not kept is handed over again), then let handlers finish."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._handling:
            await asyncio.wait(list(self._handling), timeout=grace)

    async def _dispatch(self) -> None:
        while True:
            try:
                await self._handle_kept()
            except GovernanceError as exc:  # the database is away: what is kept waits for the next look
                log.warning("kept updates: %s", exc.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), DISPATCH_INTERVAL)
            self._wake.clear()

    async def _poll(self) -> None:
        while True:
            try:
                offset = await self.core.run(self.bot_store.next_update_offset)
                await self._handle_kept()  # kept by the previous leader, never started
                break
            except GovernanceError as exc:  # polling from an unknown offset could repeat updates: wait
                log.warning("cannot read the kept updates yet: %s", exc.message)
                await asyncio.sleep(MAX_BACKOFF / 10)
        failures = 0
        while True:
            try:
                batch = await self.application.bot.get_updates(
                    offset=offset, timeout=int(self.polling_timeout), allowed_updates=list(self.allowed_updates)
                )
            except (NetworkError, Conflict) as exc:  # Conflict: a deposed leader still polling, for a moment
                failures += 1
                pause = min(MAX_BACKOFF, self.network_backoff * 2 ** min(failures, 8))
                log.warning("getUpdates failed (%s); again in %.1f s", type(exc).__name__, pause)
                await asyncio.sleep(pause)
                continue
            failures = 0
            for update in batch:
                try:
                    if await self.core.run(self._keep, update):
                        await self._claim(update.update_id, update)
                except GovernanceError as exc:
                    # The database is locked or away: handle the update unrecorded (its handlers reply "busy,
                    # try again") rather than leave the chat unanswered. Only a takeover right now could repeat it.
                    log.warning("update %s handled without a record: %s", update.update_id, exc.message)
                    self._spawn(update.update_id, update, recorded=False)
                offset = update.update_id + 1

    def _keep(self, update: Update) -> bool:
        with self.core.service.lock_wait():  # a locked SQLite file fails in seconds, not 30
            return self.bot_store.record_update(update.update_id, json.dumps(update.to_dict()))

    async def _handle_kept(self) -> None:
        for update_id, payload in await self.core.run(self.bot_store.unstarted_updates):
            try:
                update = Update.de_json(json.loads(payload), self.application.bot)
            except (ValueError, TypeError, KeyError):
                log.warning("kept update %s cannot be read; skipped", update_id)
                await self.core.run(self.bot_store.start_update, update_id)
                await self.core.run(self.bot_store.finish_update, update_id)
                continue
            await self._claim(update_id, update)

    async def _claim(self, update_id: int, update: Update) -> None:
        if not await self.core.run(self.bot_store.start_update, update_id):
            return  # handled already (or being handled) elsewhere
        self._spawn(update_id, update, recorded=True)

    def _spawn(self, update_id: int, update: Update, *, recorded: bool) -> None:
        task = asyncio.create_task(self._handle(update_id, update, recorded), name=f"update-{update_id}")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, update_id: int, update: Update, recorded: bool) -> None:
        async with self._slots:
            try:
                await self.application.process_update(update)  # handler errors reach the error handler
            except TelegramError as exc:
                log.warning("update %s: %s", update_id, exc)
        if not recorded:
            return
        try:
            await self.core.run(self.bot_store.finish_update, update_id)
        except GovernanceError as exc:  # left "started": a takeover would not replay it, which is right
            log.warning("update %s: could not note it handled: %s", update_id, exc.message)
