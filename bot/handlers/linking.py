"""/link: prove you hold an owner key, so the bot can mention you for that owner."""

from __future__ import annotations

from telegram import Update

from bot import links
from bot.commands import LinkArgs, parse_args
from bot.context import GovContext
from bot.handlers.common import actor_of, chat_id_of, reply, safes_here
from bot.markup import code, mention
from bot.texts import challenge_text
from proposals.catalogue import parse_address


async def on_link(update: Update, context: GovContext) -> None:
    """Send a challenge to sign (/link <address>), or check the signed one (/link <address> 0x<sig>)."""
    args = parse_args(LinkArgs, "link", context.args or ())
    owner = parse_address(args.owner, "address")
    actor = actor_of(update)
    gov = context.gov
    chat_id = chat_id_of(update)
    safes = safes_here(gov, chat_id)  # only owners of this chat's Safes link here
    if args.signature is None:
        challenge = await gov.core.run(links.issue, gov.service, gov.bot_store, actor.user_id, chat_id, owner, safes)
        minutes = int(links.CHALLENGE_TTL.total_seconds() // 60)
        await reply(update, context, challenge_text(owner, challenge.text, minutes))
        return
    await gov.core.run(
        links.complete, gov.service, gov.bot_store, actor.user_id, actor.name, owner, args.signature, safes
    )
    await reply(update, context, f"Linked {code(owner)} to {mention(actor.user_id, actor.name)}.")
    for proposal in await gov.core.run(gov.service.open_proposals_of, safes):
        gov.announcer.request(proposal.id)  # announcements now mention the linked owner
