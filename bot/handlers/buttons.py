"""Inline buttons on announcements: typed data, details, cancel (with confirmation), and stale ones."""

from __future__ import annotations

from telegram import Update

from bot.announcer import render_options
from bot.callbacks import Button, Verb, decode
from bot.context import GovContext
from bot.handlers.common import actor_of, proposal_in_chat, require_canceller
from bot.handlers.proposing import cancel
from bot.handlers.signing import send_typed_data
from bot.markup import plain
from bot.render import details_text
from bot.snapshot import load_snapshot
from proposals.errors import NotFound

STALE = "This button is out of date; use the proposal's latest message or /status."


async def _is_current_message(context: GovContext, button: Button, chat_id: int, message_id: int) -> bool:
    gov = context.gov
    try:
        # A proposal of another chat's Safe is answered like one that does not exist: stale.
        await proposal_in_chat(gov, chat_id, button.proposal_id)
    except NotFound:
        return False
    row = await gov.core.run(gov.bot_store.announcement, button.proposal_id)
    # No row yet: the announcement was just sent and is being recorded; the press is for it.
    return row is None or (row.chat_id, row.message_id) == (chat_id, message_id)


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
        proposal = await proposal_in_chat(gov, chat_id, pid)
        require_canceller(context, actor_of(update), proposal)
        gov.announcer.ask_cancel_confirmation(pid)
        await gov.announcer.refresh(pid)
        await gov.outbox.answer(query, f"Cancel #{pid}? Confirm on the message.")
    elif button.verb is Verb.CANCEL_CONFIRMED:
        result = await cancel(context, chat_id, actor_of(update), pid)
        gov.announcer.end_cancel_confirmation(pid)
        await gov.announcer.refresh(pid)
        await gov.outbox.answer(query, plain(result), alert=True)
    else:  # Verb.KEEP
        gov.announcer.end_cancel_confirmation(pid)
        await gov.announcer.refresh(pid)
        await gov.outbox.answer(query, "Kept.")


async def on_stale_button(update: Update, context: GovContext) -> None:
    """Answer presses of buttons this version does not understand."""
    if update.callback_query is not None:
        await context.gov.outbox.answer(update.callback_query, STALE, alert=True)
