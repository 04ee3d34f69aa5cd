"""Policy as code in the chat: /plan with a policy file sent as a document, its Apply button, and /drift.

A plan shown here is kept (in memory, the newest few) under a small id that its Apply button carries.
Pressing it re-plans and files only if the plan hash is still the one shown: an outdated plan is
refused and its message says so. Only the chat's Safes are acted for: a plan that changes a contract
owned by another chat's Safe is shown without a button.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.callbacks import Button, Verb, decode, encode
from bot.context import GovContext, Services
from bot.drift_alerts import item_lines
from bot.handlers.common import actor_of, chat_id_of, reply, require_proposer, safes_here
from bot.handlers.documents import document_name, document_text, read_document
from bot.markup import code, esc
from proposals.errors import Conflict
from proposals.policy_file import MAX_POLICY_BYTES, PolicySpec, load_policy_text
from proposals.policy_plan import PolicyPlan

PLAN_CAPTION = r"^/plan(@\w+)?(\s|$)"
PLANS_KEY = "policy-plans"
MAX_KEPT = 32
MAX_STEPS_SHOWN = 30
GONE = "This plan is no longer available; send the policy file again with /plan."


@dataclass(frozen=True)
class Staged:
    """A plan shown in a chat, waiting for its Apply button."""

    chat_id: int
    spec: PolicySpec
    plan_hash: str
    source: str
    text: str  # the plan as shown, kept to say on it what became of it


class PlanShelf:
    """The newest plans shown, by id (oldest dropped first; a restart forgets them: send the file again)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._plans: OrderedDict[int, Staged] = OrderedDict()

    def put(self, staged: Staged) -> int:
        """Keep `staged`; return its id."""
        plan_id = next(self._ids)
        self._plans[plan_id] = staged
        while len(self._plans) > MAX_KEPT:
            self._plans.popitem(last=False)
        return plan_id

    def take(self, plan_id: int, chat_id: int) -> Staged | None:
        """Remove and return the plan, if it was shown in `chat_id` (a press claims it: one filing per plan)."""
        staged = self._plans.get(plan_id)
        if staged is None or staged.chat_id != chat_id:
            return None
        return self._plans.pop(plan_id)

    def put_back(self, plan_id: int, staged: Staged) -> None:
        """Return a claimed plan whose filing failed for a passing reason (the button works again)."""
        self._plans[plan_id] = staged


def shelf_of(context: GovContext) -> PlanShelf:
    """Return the bot's plan shelf."""
    shelf: PlanShelf = context.bot_data.setdefault(PLANS_KEY, PlanShelf())
    return shelf


def is_policy_button(data: object) -> bool:
    """Return True for an Apply button of a plan (a handler pattern)."""
    button = decode(data) if isinstance(data, str) else None
    return button is not None and button.verb is Verb.APPLY_POLICY


def read_policy_document(data: bytes, name: str) -> PolicySpec:
    """Decode and parse a policy file sent as a document; composeFiles need the CLI (no files here)."""
    return load_policy_text(document_text(data, name, MAX_POLICY_BYTES), source=name)


def plan_text(plan: PolicyPlan, source: str, foreign: list[str]) -> str:
    """Return the plan as HTML: contract by contract, each action with its risk and what it stops from booting."""
    if not plan.steps:
        return f"✅ <b>{esc(source)}</b>: the chain matches this policy (block {plan.block}); nothing to apply."
    lines = [f"📋 <b>Plan for {esc(source)}</b>: {len(plan.steps)} change(s) at block {plan.block}"]
    shown = 0
    for contract in plan.contracts:
        lines.append(f"\n<b>{contract.group.value}</b> {code(contract.target)} (owner {code(contract.owner)})")
        for step in contract.steps:
            shown += 1
            if shown > MAX_STEPS_SHOWN:
                continue
            lines.append(f"• [{step.action.risk.value}] {esc(step.description)}")
            lines += [f"  ⚠️ {esc(impact)}" for impact in step.impacts]
    if shown > MAX_STEPS_SHOWN:
        lines.append(f"… and {shown - MAX_STEPS_SHOWN} more (dstack-gov policy plan shows them all)")
    lines += [f"<i>{esc(note)}</i>" for note in plan.notes]
    if foreign:
        lines.append("Not this chat's to apply (owned by Safes whose signers meet elsewhere): " + ", ".join(foreign))
    lines.append(f"plan hash {code(plan.plan_hash[:16] + '…')}")
    return "\n".join(lines)


async def on_plan_file(update: Update, context: GovContext) -> None:
    """Show the plan of a policy file sent with the caption /plan, with an Apply button when it is this chat's."""
    gov = context.gov
    chat_id = chat_id_of(update)
    document = update.effective_message.document  # type: ignore[union-attr]
    assert document is not None
    name = document_name(document, "policy file")
    spec = await read_document(gov, document, name, MAX_POLICY_BYTES, read_policy_document)
    plan = await gov.core.run(gov.service.plan_policy, spec)
    here = {safe.lower() for safe in safes_here(gov, chat_id)}
    foreign = sorted({str(c.owner) for c in plan.contracts if c.owner is None or c.owner.lower() not in here})
    keyboard = None
    text = plan_text(plan, name, foreign)
    if plan.steps and not foreign:
        plan_id = shelf_of(context).put(Staged(chat_id, spec, plan.plan_hash, name, text))
        label = f"Apply ({len(plan.steps)} change(s))"
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=encode(Button(Verb.APPLY_POLICY, plan_id)))]]
        )
    message = update.effective_message
    await gov.outbox.send(chat_id, text, keyboard=keyboard,
                          reply_to=message.message_id if message else None)  # fmt: skip


async def _apply(gov: Services, staged: Staged, actor: str) -> str:
    """File the staged plan for the chat's Safes; return what was filed, as HTML."""
    done = await gov.core.write(
        gov.service.apply_policy, staged.spec, plan_hash=staged.plan_hash, proposer=actor, source=staged.source,
        within=safes_here(gov, staged.chat_id),
    )  # fmt: skip
    filed = ", ".join(f"#{p.id}" for p in done.proposals) or "nothing (no changes)"
    return f"Applied by {esc(actor)}: filed {filed}; announced below."


async def on_policy_button(update: Update, context: GovContext) -> None:
    """Apply a shown plan (proposers only); an outdated or forgotten plan is refused."""
    query = update.callback_query
    assert query is not None and query.message is not None
    gov = context.gov
    chat_id, message_id = query.message.chat.id, query.message.message_id
    button = decode(query.data)
    actor = actor_of(update)
    require_proposer(context, actor)
    staged = shelf_of(context).take(button.proposal_id, chat_id) if button is not None else None
    if button is None or staged is None:
        await gov.outbox.answer(query, GONE, alert=True)
        return
    try:
        outcome = await _apply(gov, staged, str(actor))
    except Conflict as exc:  # the chain changed since the plan was shown: this plan is dead
        await gov.outbox.edit(chat_id, message_id, f"{staged.text}\n\n❌ Out of date: {esc(exc.message)}", None)
        await gov.outbox.answer(query, "Refused: the chain changed since this plan. Send the file again.", alert=True)
        return
    except BaseException:
        shelf_of(context).put_back(button.proposal_id, staged)
        raise
    await gov.outbox.edit(chat_id, message_id, f"{staged.text}\n\n✅ {outcome}", None)
    await gov.outbox.answer(query, "Filed.")


async def on_plan(update: Update, context: GovContext) -> None:
    """Explain how to ask for a plan: the policy file goes as a document captioned /plan."""
    await reply(update, context, "Send the policy file as a document with the caption /plan (see docs/policy.md).")


async def on_drift(update: Update, context: GovContext) -> None:
    """Show the KMS's current drift, limited to contracts this chat's Safes own."""
    gov = context.gov
    report = await gov.core.run(gov.service.policy_drift)
    here = {safe.lower() for safe in safes_here(gov, chat_id_of(update))}
    items = [i for i in report.items if i.owner is not None and i.owner.lower() in here]
    if not items:
        await reply(
            update, context, f"No drift on this chat's contracts (KMS {code(report.kms)}, block {report.block})."
        )
        return
    head = f"⚠️ <b>Policy drift</b> on this chat's contracts (KMS {code(report.kms)}, block {report.block}):"
    await reply(update, context, "\n".join([head, *item_lines(report, gov.settings, items)]))
