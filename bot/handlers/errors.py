"""The bot's one error handler: a one-line reason for domain errors, a generic reply for the rest."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import GovContext
from bot.markup import esc
from proposals.errors import GovernanceError, Unauthorized, Unavailable

log = logging.getLogger(__name__)
GENERIC = "Something went wrong on our side; it has been logged. Please try again later."


def error_text(error: BaseException | None) -> str | None:
    """Return what to tell the user about `error` (None: tell nothing)."""
    if isinstance(error, Unauthorized):
        return f"Not allowed: {error.message}"
    if isinstance(error, Unavailable) and error.retry_after is not None:
        return f"Sorry, {error.message} (in a few seconds)."
    if isinstance(error, GovernanceError):
        return error.message
    if isinstance(error, TelegramError):
        return None  # Telegram itself failed; a reply would most likely fail too
    return GENERIC


async def on_error(update: object, context: GovContext) -> None:
    """Answer the update that failed with the reason, and log what nobody expected."""
    error = context.error
    if isinstance(error, Unavailable):
        log.warning("not done: %s", error.message)
    elif isinstance(error, GovernanceError):
        log.info("refused: %s", error.message)
    elif isinstance(error, TelegramError):
        log.warning("Telegram error while handling an update: %s", error)
    else:
        log.error("unexpected error while handling an update", exc_info=error)
    text = error_text(error)
    if text is None or not isinstance(update, Update):
        return
    outbox = context.gov.outbox
    try:
        if update.callback_query is not None:
            await outbox.answer(update.callback_query, text, alert=True)
        elif update.effective_chat is not None:
            reply_to = update.effective_message.message_id if update.effective_message else None
            await outbox.send(update.effective_chat.id, f"⚠️ {esc(text)}", reply_to=reply_to)
    except TelegramError as exc:
        log.warning("could not report an error to the chat: %s", exc)
