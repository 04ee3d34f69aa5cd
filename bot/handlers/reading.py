"""Read-only commands: /help, /pending, /status, /policy, /owners."""

from __future__ import annotations

from telegram import Update

from bot.announcer import render_options
from bot.commands import ProposalArgs, parse_args
from bot.context import GovContext
from bot.grammar import action_help, catalogue_help
from bot.handlers.common import chat_id_of, reply
from bot.render import details_text
from bot.snapshot import load_snapshot
from bot.texts import PendingRow, help_text, owners_text, pending_text, policy_text
from proposals.catalogue import get_action
from proposals.models import OPEN_STATES
from proposals.policy import AppPolicy, KmsPolicy, read_app_policy, read_kms_policy
from proposals.safe_tx import SafeState, read_safe_state
from proposals.service import GovernanceService


def pending_rows(service: GovernanceService) -> list[PendingRow]:
    """Return open proposals with their stored signature counts and their Safe's threshold (blocking)."""
    thresholds: dict[str, int] = {}
    rows = []
    for proposal in service.list_proposals(sorted(OPEN_STATES), limit=500):
        if proposal.safe not in thresholds:
            thresholds[proposal.safe] = read_safe_state(service.w3, proposal.safe).threshold
        count = len(service.store.signatures(proposal.id))
        rows.append(PendingRow(proposal, count, thresholds[proposal.safe]))
    return rows


def read_policy(service: GovernanceService) -> tuple[KmsPolicy | None, list[AppPolicy]]:
    """Return the KMS policy and every registered app's policy (blocking)."""
    kms = service.reader.kms
    if kms is None:
        return None, []
    policy = read_kms_policy(service.reader, kms)
    return policy, [read_app_policy(service.reader, app) for app in policy.apps]


def read_owners(service: GovernanceService) -> list[SafeState]:
    """Return the state of every configured Safe (blocking)."""
    return [read_safe_state(service.w3, safe) for safe in service.safes]


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
    """List the open proposals."""
    rows = await context.gov.core.run(pending_rows, context.gov.service)
    await reply(update, context, pending_text(rows))


async def on_status(update: Update, context: GovContext) -> None:
    """Show everything about one proposal."""
    args = parse_args(ProposalArgs, "status", context.args or ())
    gov = context.gov
    snapshot = await gov.core.run(load_snapshot, gov.service, gov.bot_store, args.proposal_id)
    text = details_text(snapshot, render_options(gov.settings, snapshot.view.proposal.safe))
    message = update.effective_message
    await gov.outbox.send_long(
        chat_id_of(update), text, filename=f"proposal-{args.proposal_id}.txt",
        summary=f"Proposal #{args.proposal_id} in full (too long for one message).",
        reply_to=message.message_id if message else None,
    )  # fmt: skip


async def on_policy(update: Update, context: GovContext) -> None:
    """Show what the KMS and its apps allow right now, read from the chain."""
    kms, apps = await context.gov.core.run(read_policy, context.gov.service)
    message = update.effective_message
    await context.gov.outbox.send_long(
        chat_id_of(update), policy_text(kms, apps), filename="policy.txt",
        summary="The current on-chain policy (too long for one message).",
        reply_to=message.message_id if message else None,
    )  # fmt: skip


async def on_owners(update: Update, context: GovContext) -> None:
    """Show each Safe's owners and threshold, and which Telegram user is linked to which owner."""
    gov = context.gov
    states = await gov.core.run(read_owners, gov.service)
    links = await gov.core.run(gov.bot_store.links)
    names = {safe.lower(): name for safe, name in gov.settings.safe_names.items()}
    await reply(update, context, owners_text(states, links, names))
