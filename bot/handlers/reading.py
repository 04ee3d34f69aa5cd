"""Read-only commands: /help, /pending, /status, /policy, /owners."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from telegram import Update

from bot.announcer import render_options
from bot.commands import ProposalArgs, parse_args
from bot.context import GovContext
from bot.grammar import action_help, catalogue_help
from bot.handlers.common import chat_id_of, proposal_in_chat, reply, safes_here
from bot.render import details_text
from bot.snapshot import load_snapshot
from bot.texts import NO_POLICY_HERE, PendingRow, help_text, owners_text, pending_text, policy_text
from proposals.catalogue import Group, get_action
from proposals.policy import AppPolicy, KmsPolicy, read_app_policy, read_kms_policy
from proposals.safe_tx import SafeState, read_safe_state
from proposals.service import GovernanceService


def pending_rows(service: GovernanceService, safes: Sequence[ChecksumAddress]) -> list[PendingRow]:
    """Return the open proposals of `safes` with their signature counts and their Safe's threshold (blocking)."""
    thresholds: dict[str, int] = {}
    rows = []
    for proposal in service.open_proposals_of(safes):
        if proposal.safe not in thresholds:
            thresholds[proposal.safe] = read_safe_state(service.w3, proposal.safe).threshold
        count = len(service.store.signatures(proposal.id))
        rows.append(PendingRow(proposal, count, thresholds[proposal.safe]))
    return rows


@dataclass(frozen=True)
class PolicyInView:
    """The part of the on-chain policy one chat may see."""

    kms: KmsPolicy | None
    apps: list[AppPolicy]  # the registered apps the chat's Safes own
    hidden: int  # registered apps owned by anyone else
    relevant: bool  # a Safe of the chat owns the KMS or one of its apps


def read_policy(service: GovernanceService, safes: Sequence[ChecksumAddress]) -> PolicyInView:
    """Return the KMS policy and the policies of the apps `safes` own (blocking).

    The KMS whitelists (images, measurements, devices, gateway) bind every app on it, so they are shown to
    any chat with a Safe that owns the KMS or a registered app; apps are shown only to their owner's chat.
    """
    reader = service.reader
    if reader.kms is None:
        return PolicyInView(None, [], 0, relevant=False)
    kms = read_kms_policy(reader, reader.kms)
    own = {safe.lower() for safe in safes}
    mine = [app for app in kms.apps if str(reader.read(Group.APP, app, "owner")).lower() in own]
    apps = [read_app_policy(reader, app) for app in mine]
    return PolicyInView(kms, apps, len(kms.apps) - len(apps), relevant=kms.owner.lower() in own or bool(apps))


def read_owners(service: GovernanceService, safes: Sequence[ChecksumAddress]) -> list[SafeState]:
    """Return the state of each of `safes` (blocking)."""
    return [read_safe_state(service.w3, safe) for safe in safes]


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
    rows = await gov.core.run(pending_rows, gov.service, safes_here(gov, chat_id_of(update)))
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
    seen = await gov.core.run(read_policy, gov.service, safes_here(gov, chat_id))
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
    states = await gov.core.run(read_owners, gov.service, safes_here(gov, chat_id_of(update)))
    links = await gov.core.run(gov.bot_store.links)
    names = {safe.lower(): name for safe, name in gov.settings.safe_names.items()}
    await reply(update, context, owners_text(states, links, names))
