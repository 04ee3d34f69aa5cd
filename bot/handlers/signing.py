"""Signing: /typeddata sends the EIP-712 file, /sign takes an owner's signature."""

from __future__ import annotations

import json

from telegram import Update

from bot.actors import TelegramActor
from bot.commands import ProposalArgs, SignArgs, parse_args
from bot.context import GovContext, Services
from bot.handlers.common import actor_of, chat_id_of, proposal_in_chat, reply
from bot.markup import code, esc
from proposals.catalogue import parse_address
from proposals.service import SignResult
from proposals.signatures import parse_signature_hex


def typed_data_filename(proposal_id: int) -> str:
    """Return the name of a proposal's typed-data file."""
    return f"proposal-{proposal_id}-typed-data.json"


async def send_typed_data(gov: Services, chat_id: int, proposal_id: int, reply_to: int | None) -> None:
    """Send the EIP-712 typed data of a proposal of this chat, ready for `cast wallet sign --data --from-file`."""
    proposal = await proposal_in_chat(gov, chat_id, proposal_id)
    typed = await gov.core.run(gov.service.typed_data, proposal_id)
    name = typed_data_filename(proposal_id)
    caption = (
        f"EIP-712 typed data of proposal #{proposal_id} (safeTxHash {code('0x' + proposal.safe_tx_hash.hex())}).\n"
        f"Sign: {code(f'cast wallet sign --data --from-file {name}')}\n"
        f"Then: {code(f'/sign {proposal_id} 0x<signature>')}"
    )
    data = json.dumps(typed, indent=2).encode()
    await gov.outbox.document(chat_id, name, data, caption=caption, reply_to=reply_to)


async def on_typeddata(update: Update, context: GovContext) -> None:
    """Send a proposal's EIP-712 typed data as a file."""
    args = parse_args(ProposalArgs, "typeddata", context.args or ())
    message = update.effective_message
    await send_typed_data(context.gov, chat_id_of(update), args.proposal_id, message.message_id if message else None)


def sign_message(result: SignResult) -> str:
    """Say what a signature did."""
    proposal = result.proposal
    text = (
        f"Signature by {code(result.signature.owner)} ({result.signature.kind.value}) added to #{proposal.id}: "
        f"{result.valid_count}/{result.threshold}."
    )
    if result.execution_error:
        text += f" Execution did not happen yet: {esc(result.execution_error)}"
    elif result.valid_count >= result.threshold:
        text += f" Quorum reached; the proposal is {proposal.state.value}."
    return text


async def add_signature(gov: Services, chat_id: int, actor: TelegramActor, args: SignArgs) -> SignResult:
    """Verify and store the signature on a proposal of this chat (the core executes at quorum)."""
    signature = parse_signature_hex(args.signature)
    owner = parse_address(args.owner, "owner") if args.owner else None
    await proposal_in_chat(gov, chat_id, args.proposal_id)
    return await gov.core.write(
        gov.service.add_signature, args.proposal_id, signature, source=actor.source, actor=str(actor),
        claimed_owner=owner,
    )  # fmt: skip


async def on_sign(update: Update, context: GovContext) -> None:
    """Add an owner's signature: /sign <id> 0x<signature> [owner]."""
    args = parse_args(SignArgs, "sign", context.args or ())
    result = await add_signature(context.gov, chat_id_of(update), actor_of(update), args)
    await reply(update, context, sign_message(result))
