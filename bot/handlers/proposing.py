"""Filing and withdrawing proposals: /propose, proposal files sent as documents, /cancel."""

from __future__ import annotations

from telegram import Update

from bot.actors import TelegramActor
from bot.commands import ProposalArgs, parse_args
from bot.context import GovContext
from bot.grammar import parse_propose_command
from bot.handlers.common import (
    actor_of,
    chat_id_of,
    proposal_in_chat,
    reply,
    require_canceller,
    require_proposer,
    safes_here,
)
from bot.handlers.documents import document_name, document_text, read_document
from bot.markup import esc
from proposals.planning import ChangeRequest
from proposals.proposal_file import MAX_FILE_BYTES, load_proposal_text
from proposals.service import CancelResult

PROPOSAL_FILE_SUFFIXES = (".yaml", ".yml", ".json")


async def _file(
    update: Update, context: GovContext, actor: TelegramActor, request: ChangeRequest, *, force: bool = False
) -> None:
    gov = context.gov
    # Only a change of one of this chat's Safes: its announcement, signatures and cancel all live here.
    within = safes_here(gov, chat_id_of(update))
    proposal = await gov.core.write(gov.service.propose, request, proposer=str(actor), force=force, within=within)
    await reply(update, context, f"Filed as proposal #{proposal.id} (nonce {proposal.nonce}); announced below.")


async def on_propose(update: Update, context: GovContext) -> None:
    """File a proposal from the catalogue grammar: /propose <action> <args…>."""
    actor = actor_of(update)
    require_proposer(context, actor)
    text = update.effective_message.text if update.effective_message else None
    command = parse_propose_command(text or "")
    await _file(update, context, actor, command.request, force=command.force)


def is_proposal_file(update: Update) -> bool:
    """Return True for a document named like a proposal file, or captioned /propose."""
    message = update.effective_message
    if message is None or message.document is None:
        return False
    name = (message.document.file_name or "").lower()
    return name.endswith(PROPOSAL_FILE_SUFFIXES) or (message.caption or "").startswith("/propose")


async def on_proposal_file(update: Update, context: GovContext) -> None:
    """File a proposal from a YAML/JSON proposal file sent as a document (several actions)."""
    if not is_proposal_file(update):
        return
    actor = actor_of(update)
    require_proposer(context, actor)
    document = update.effective_message.document  # type: ignore[union-attr]
    assert document is not None
    name = document_name(document, "proposal file")
    request = await read_document(context.gov, document, name, MAX_FILE_BYTES, read_proposal_document)
    await _file(update, context, actor, request)


def read_proposal_document(data: bytes, name: str) -> ChangeRequest:
    """Decode and parse a proposal file sent as a document; raise InvalidInput with a one-line reason."""
    return load_proposal_text(document_text(data, name, MAX_FILE_BYTES), source=name)


def cancel_message(result: CancelResult) -> str:
    """Say what a cancel did."""
    proposal = result.proposal
    if result.rejection is None:
        return f"Proposal #{proposal.id} is withdrawn."
    return (
        f"Proposal #{proposal.id} already has signatures, so only the Safe can cancel it: rejection "
        f"#{result.rejection.id} (a no-op at nonce {proposal.nonce}) needs the owners' signatures. "
        f"Once it executes, #{proposal.id} is cancelled."
    )


async def cancel(context: GovContext, chat_id: int, actor: TelegramActor, proposal_id: int) -> str:
    """Check the proposal is this chat's and the caller may cancel it, then cancel; return what happened, as HTML."""
    gov = context.gov
    proposal = await proposal_in_chat(gov, chat_id, proposal_id)
    require_canceller(context, actor, proposal)
    result = await gov.core.write(gov.service.cancel, proposal_id, actor=str(actor))
    return esc(cancel_message(result))


async def on_cancel(update: Update, context: GovContext) -> None:
    """Withdraw a proposal, or propose its on-chain rejection if owners already signed."""
    args = parse_args(ProposalArgs, "cancel", context.args or ())
    await reply(update, context, await cancel(context, chat_id_of(update), actor_of(update), args.proposal_id))
