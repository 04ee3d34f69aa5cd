"""Read-only commands: /help, /pending, /status, /policy, /owners."""

from __future__ import annotations

from telegram import Update

from bot.announcer import render_options
from bot.commands import ProposalArgs, parse_args
from bot.context import GovContext
from bot.grammar import action_help, catalogue_help
from bot.handlers.common import chat_id_of, proposal_in_chat, reply, safes_here
from bot.render import details_text
from bot.snapshot import load_snapshot
from bot.texts import NO_POLICY_HERE, help_text, owners_text, pending_text, policy_text
from proposals.catalogue import get_action


async def on_help(update: Update, context: GovContext) -> None:
    """Show the commands, the action list, or one action's parameters."""
    topic = " ".join(context.args or ())
    if not topic:
        text = help_text()
    elif topic.lower() == "actions":
        text = catalogue_help()
    else:
        text = action_help(get_action(topic))
    await reply(update, context, text)


async def on_pending(update: Update, context: GovContext) -> None:
    """List the open proposals of this chat's Safes."""
    gov = context.gov
    rows = await gov.core.run(gov.service.pending_for, safes_here(gov, chat_id_of(update)))
    await reply(update, context, pending_text(rows))


async def on_status(update: Update, context: GovContext) -> None:
    """Show everything about one proposal of this chat's Safes."""
    args = parse_args(ProposalArgs, "status", context.args or ())
    gov = context.gov
    await proposal_in_chat(gov, chat_id_of(update), args.proposal_id)
    snapshot = await gov.core.run(load_snapshot, gov.service, gov.bot_store, args.proposal_id)
    text = details_text(snapshot, render_options(gov.settings, snapshot.view.proposal.safe))
    message = update.effective_message
    await gov.outbox.send_long(
        chat_id_of(update), text, filename=f"proposal-{args.proposal_id}.txt",
        summary=f"Proposal #{args.proposal_id} in full (too long for one message).",
        reply_to=message.message_id if message else None,
    )  # fmt: skip


async def on_policy(update: Update, context: GovContext) -> None:
    """Show what the KMS and this chat's apps allow right now, read from the chain."""
    gov = context.gov
    chat_id = chat_id_of(update)
    seen = await gov.core.run(gov.service.policy_seen_by, safes_here(gov, chat_id))
    text = policy_text(seen.kms, seen.apps, hidden=seen.hidden) if seen.kms is None or seen.relevant else NO_POLICY_HERE
    message = update.effective_message
    await gov.outbox.send_long(
        chat_id, text, filename="policy.txt",
        summary="The current on-chain policy (too long for one message).",
        reply_to=message.message_id if message else None,
    )  # fmt: skip


async def on_owners(update: Update, context: GovContext) -> None:
    """Show the owners and threshold of this chat's Safes, and which Telegram user is linked to which owner."""
    gov = context.gov
    states = [await gov.core.run(gov.service.safe_state, safe) for safe in safes_here(gov, chat_id_of(update))]
    links = await gov.core.run(gov.bot_store.links)
    names = {safe.lower(): name for safe, name in gov.settings.safe_names.items()}
    await reply(update, context, owners_text(states, links, names))
