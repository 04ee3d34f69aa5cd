"""Every call the bot makes to Telegram goes through here: 429s, network errors, harmless edit errors.

- `429 retry_after`: every sender pauses until Telegram's deadline (flood control is per bot),
  then the call is repeated; these waits do not use up the network-error attempts.
- Network errors and 5xx answers (NetworkError, TimedOut): retried with a growing pause.
- "message is not modified" on an edit is success; "message to edit not found" is reported so
  the caller can announce again.
- Long replies are split on line boundaries, or attached as a file.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.markup import MAX_CALLBACK_ANSWER, MAX_CAPTION, fits, plain, shorten, split_lines
from foundation.health import HEALTH, ProcessHealth

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_PARTS = 3  # a longer reply becomes a file: a wall of messages helps nobody


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _reply(message_id: int | None) -> ReplyParameters | None:
    # A reply to a message deleted meanwhile is sent as a plain message rather than refused.
    return None if message_id is None else ReplyParameters(message_id, allow_sending_without_reply=True)


class Edit(enum.Enum):
    """What happened to an edit."""

    EDITED = "edited"
    UNCHANGED = "unchanged"
    GONE = "gone"  # the message was deleted (or is too old to edit)


def retry_after_seconds(error: RetryAfter) -> float:
    """Return Telegram's requested pause in seconds (int or timedelta, depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Outbox:
    """Sends, edits and answers with retries; one instance per bot."""

    def __init__(
        self,
        bot: Bot,
        *,
        network_attempts: int = 5,
        flood_attempts: int = 20,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        health: ProcessHealth = HEALTH,
    ) -> None:
        self.bot = bot
        self.health = health  # where /readyz learns whether Telegram answered the last call
        self.network_attempts = network_attempts
        self.flood_attempts = flood_attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._resume_at = 0.0

    @property
    def username(self) -> str | None:
        """Return the bot's @username once getMe has run (None before)."""
        try:
            return self.bot.username
        except RuntimeError:  # PTB: the Bot object has not been initialized yet
            return None

    async def call(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        """Run one Bot API call, waiting out flood control and retrying network failures."""
        network_failures = 0
        floods = 0
        while True:
            pause = self._resume_at - time.monotonic()
            if pause > 0:
                await self._sleep(pause)
            try:
                result = await make()
            except RetryAfter as exc:
                floods += 1
                wait = retry_after_seconds(exc)
                if floods > self.flood_attempts:
                    raise
                self._resume_at = max(self._resume_at, time.monotonic() + wait)
                log.warning("Telegram flood control on %s: waiting %.1f s", what, wait)
            except (TimedOut, NetworkError) as exc:
                if isinstance(exc, BadRequest):  # a BadRequest is a NetworkError subclass in PTB; never retry it
                    raise
                network_failures += 1
                self.health.report("telegram", False, type(exc).__name__)  # /readyz: Telegram does not answer
                if network_failures >= self.network_attempts:
                    raise
                backoff = min(self.max_backoff, self.first_backoff * 2 ** (network_failures - 1))
                log.warning("Telegram %s failed (%s); retrying in %.1f s", what, type(exc).__name__, backoff)
                await self._sleep(backoff)
            else:
                self.health.report("telegram", True)
                return result

    async def send(
        self, chat_id: int, text: str, *, keyboard: InlineKeyboardMarkup | None = None, reply_to: int | None = None
    ) -> Message:
        """Send an HTML message."""
        return await self.call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard, reply_parameters=_reply(reply_to),
                link_preview_options=NO_PREVIEW,
            ),
        )  # fmt: skip

    async def edit(self, chat_id: int, message_id: int, text: str, keyboard: InlineKeyboardMarkup | None) -> Edit:
        """Edit a message in place; an edit that changes nothing is fine."""
        try:
            await self.call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=keyboard,
                    link_preview_options=NO_PREVIEW,
                ),
            )  # fmt: skip
        except BadRequest as exc:
            message = exc.message.lower()
            if "not modified" in message:
                return Edit.UNCHANGED
            if "not found" in message or "can't be edited" in message:
                return Edit.GONE
            raise
        return Edit.EDITED

    async def document(
        self, chat_id: int, filename: str, data: bytes, *, caption: str | None = None, reply_to: int | None = None
    ) -> Message:
        """Send a file (HTML caption, cut to Telegram's 1024 characters)."""
        if caption is not None and not fits(caption, MAX_CAPTION):
            caption = shorten(plain(caption), MAX_CAPTION - 1)
            parse_mode = None
        else:
            parse_mode = ParseMode.HTML
        return await self.call(
            "sendDocument",
            lambda: self.bot.send_document(
                chat_id, InputFile(data, filename=filename), caption=caption, parse_mode=parse_mode,
                reply_parameters=_reply(reply_to),
            ),
        )  # fmt: skip

    async def answer(self, query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
        """Answer a button press (Telegram shows a spinner until this happens)."""
        short = shorten(text, MAX_CALLBACK_ANSWER) if text else None
        try:
            await self.call("answerCallbackQuery", lambda: query.answer(short, show_alert=alert))
        except BadRequest as exc:  # too old, or answered already: nothing left to do
            log.info("could not answer a callback query: %s", exc.message)

    async def send_long(
        self, chat_id: int, markup: str, *, filename: str, summary: str, reply_to: int | None = None
    ) -> None:
        """Send `markup`: as is, split into a few messages, or as a text file with `summary` as caption."""
        parts = [markup] if fits(markup) else split_lines(markup)
        if parts is not None and len(parts) <= MAX_PARTS:
            for part in parts:
                await self.send(chat_id, part, reply_to=reply_to)
            return
        await self.document(chat_id, filename, plain(markup).encode(), caption=summary, reply_to=reply_to)
