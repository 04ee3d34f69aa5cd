"""Inline buttons on announcements: typed data, details, cancel (with confirmation), and stale ones."""

from __future__ import annotations

from telegram import Update

from bot.announcer import render_options
from bot.callbacks import Button, Verb, decode
from bot.context import GovContext
from bot.handlers.common import actor_of, require_canceller
from bot.handlers.proposing import cancel
from bot.handlers.signing import send_typed_data
from bot.markup import plain
from bot.render import confirm_cancel_keyboard, details_text
from bot.snapshot import load_snapshot

STALE = "This button is out of date; use the proposal's latest message or /status."


async def _is_current_message(context: GovContext, button: Button, chat_id: int, message_id: int) -> bool:
    row = await context.gov.core.run(context.gov.bot_store.announcement, button.proposal_id)
    return row is not None and (row.chat_id, row.message_id) == (chat_id, message_id)


async def on_button(update: Update, context: GovContext) -> None:
    """Act on a button of a proposal's message; every press is answered."""
    query = update.callback_query
    assert query is not None and query.message is not None
    button = decode(query.data)
    gov = context.gov
    chat_id, message_id = query.message.chat.id, query.message.message_id
    if button is None or not await _is_current_message(context, button, chat_id, message_id):
        await gov.outbox.answer(query, STALE, alert=True)
        return
    pid = button.proposal_id
    if button.verb is Verb.TYPED_DATA:
        await send_typed_data(gov, chat_id, pid, message_id)
        await gov.outbox.answer(query, "Typed data sent.")
    elif button.verb is Verb.DETAILS:
        snapshot = await gov.core.run(load_snapshot, gov.service, gov.bot_store, pid)
        text = details_text(snapshot, render_options(gov.settings, snapshot.view.proposal.safe))
        await gov.outbox.send_long(chat_id, text, filename=f"proposal-{pid}.txt",
                                   summary=f"Proposal #{pid} in full.", reply_to=message_id)  # fmt: skip
        await gov.outbox.answer(query)
    elif button.verb is Verb.CANCEL:
        proposal = await gov.core.run(gov.service.get, pid)
        require_canceller(context, actor_of(update), proposal)
        # The message no longer shows what the announcer last sent: forget its fingerprint.
        await gov.core.run(gov.bot_store.update_announcement, pid, digest="")
        await gov.outbox.edit_keyboard(chat_id, message_id, confirm_cancel_keyboard(pid))
        await gov.outbox.answer(query, f"Cancel #{pid}? Confirm on the message.")
    elif button.verb is Verb.CANCEL_CONFIRMED:
        result = await cancel(context, actor_of(update), pid)
        gov.announcer.request(pid)
        await gov.outbox.answer(query, plain(result), alert=True)
    else:  # Verb.KEEP
        gov.announcer.request(pid)
        await gov.outbox.answer(query, "Kept.")


async def on_stale_button(update: Update, context: GovContext) -> None:
    """Answer presses of buttons this version does not understand."""
    if update.callback_query is not None:
        await context.gov.outbox.answer(update.callback_query, STALE, alert=True)
