"""Small pieces every handler uses: who is asking, the chat's scope, replying, role checks.

Scope: a chat sees and acts on the proposals of the Safes mapped to it (`[[safes]] telegram_chat_id`),
and nothing else. Every handler that takes a proposal id resolves it with `proposal_in_chat`, so another
chat's proposal reads exactly like an id that does not exist. A private chat is a chat like any other:
it is served only if it is some Safe's chat (the gate refuses it otherwise), and then sees that Safe only.
"""

from __future__ import annotations

from eth_typing import ChecksumAddress
from telegram import Update

from bot.actors import TelegramActor, display_name, parse_actor
from bot.context import GovContext, Services
from proposals.errors import InvalidInput, Unauthorized
from proposals.models import Proposal


def actor_of(update: Update) -> TelegramActor:
    """Return the Telegram user behind an update, as the core records them."""
    user = update.effective_user
    if user is None:
        raise InvalidInput("this update has no sender")
    return TelegramActor(user.id, display_name(user.first_name, user.last_name, user.username, user.id))


def chat_id_of(update: Update) -> int:
    """Return the chat an update came from."""
    if update.effective_chat is None:
        raise InvalidInput("this update has no chat")
    return update.effective_chat.id


def safes_here(gov: Services, chat_id: int) -> tuple[ChecksumAddress, ...]:
    """Return the Safes whose signers meet in `chat_id`: all that chat may see or act on."""
    return gov.settings.safes_in(chat_id)


async def proposal_in_chat(gov: Services, chat_id: int, proposal_id: int) -> Proposal:
    """Return the proposal if its Safe meets in `chat_id`; another chat's reads as missing (NotFound)."""
    return await gov.core.run(gov.service.get_within, proposal_id, safes_here(gov, chat_id))


async def reply(update: Update, context: GovContext, text: str) -> None:
    """Reply with HTML to the message that started the update (long replies split or become a file)."""
    message = update.effective_message
    await context.gov.outbox.send_long(
        chat_id_of(update), text, filename="reply.txt", summary="The answer is long; here it is as a file.",
        reply_to=message.message_id if message else None,
    )  # fmt: skip


def require_proposer(context: GovContext, actor: TelegramActor) -> None:
    """Refuse users who are neither proposers nor admins."""
    if not context.gov.settings.roles.may_propose(actor.user_id):
        raise Unauthorized(
            "only proposers and admins may propose; ask an admin to add your Telegram id "
            f"({actor.user_id}) to telegram.proposers"
        )


def require_canceller(context: GovContext, actor: TelegramActor, proposal: Proposal) -> None:
    """Let admins cancel anything, and proposers their own proposals."""
    roles = context.gov.settings.roles
    if roles.is_admin(actor.user_id):
        return
    owner = parse_actor(proposal.proposer)
    if roles.may_propose(actor.user_id) and owner is not None and owner.user_id == actor.user_id:
        return
    raise Unauthorized(f"only the proposer of #{proposal.id} or an admin may cancel it")
