"""The first handler every update meets: only the signers' chats are served.

A chat is served when some Safe names it (`[[safes]] telegram_chat_id`); a private chat with the bot is no
exception, so a direct message is refused unless a Safe is mapped to that user's chat. What a served chat
may see is narrowed further to its own Safes (bot.handlers.common.proposal_in_chat).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import GovContext

log = logging.getLogger(__name__)
REFUSAL = (
    "Sorry, I only work in the signers' chat of the Safes I serve. "
    "Ask an admin if you think this chat should be one of them."
)


def _asks_something(update: Update) -> bool:
    message = update.message
    if message is None:
        return False
    return bool((message.text or "").startswith("/") or message.document is not None)


async def on_gate(update: Update, context: GovContext) -> None:
    """Refuse, politely and without doing anything, whatever comes from another chat."""
    chat = update.effective_chat
    if chat is not None and chat.id in context.gov.settings.allowed_chats:
        return
    user = update.effective_user
    log.info("refused an update from chat %s, user %s", chat.id if chat else None, user.id if user else None)
    outbox = context.gov.outbox
    if update.callback_query is not None:
        await outbox.answer(update.callback_query, REFUSAL, alert=True)
    elif chat is not None and _asks_something(update):
        await outbox.send(chat.id, REFUSAL, reply_to=update.message.message_id if update.message else None)
    raise ApplicationHandlerStop
