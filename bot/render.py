"""The announcement: text and inline keyboard as pure functions of a proposal snapshot.

One message per proposal, edited in place; it always fits Telegram's 4096 characters by
shortening the description and the longest lists (the Details button has everything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.actors import parse_actor
from bot.callbacks import Button, Verb, encode
from bot.compose_render import compose_lines
from bot.markup import MAX_MESSAGE, bold, code, esc, fits, link, mention, short_hex, shorten
from bot.snapshot import Snapshot
from proposals.models import OPEN_STATES, Proposal, ProposalKind, ProposalState
from proposals.views import ProposalView, signer_warnings

STATE_BADGES = {
    ProposalState.DRAFT: "📝 Draft",
    ProposalState.PENDING: "⏳ Waiting for signatures",
    ProposalState.APPROVED: "✅ Approved: executing",
    ProposalState.EXECUTING: "⚙️ Executing",
    ProposalState.EXECUTED: "✅ Executed",
    ProposalState.FAILED: "❌ Execution failed",
    ProposalState.CANCELLED: "🚫 Cancelled",
    ProposalState.SUPERSEDED: "↪️ Superseded (its nonce was used by another transaction)",
    ProposalState.EXPIRED: "⌛ Expired",
}
CONFIRMING_BADGE = "✅ Executed, confirming (final after a few more blocks)"


def state_badge(proposal: Proposal) -> str:
    """Return the proposal's state line (an execution mined but not yet final reads "executed, confirming")."""
    return CONFIRMING_BADGE if proposal.confirming else STATE_BADGES[proposal.state]


CANCELLABLE = frozenset({ProposalState.PENDING, ProposalState.APPROVED, ProposalState.FAILED})


@dataclass(frozen=True)
class RenderOptions:
    """Deployment details the rendering needs (names, explorer links, the signing page)."""

    safe_name: str = ""
    explorer_tx_url: str | None = None
    explorer_address_url: str | None = None
    signing_url: str | None = None
    # The Mini App direct link with {id} (groups: a url button opens the page inside Telegram).
    mini_app_url: str | None = None
    # The announcement is in a private chat, where a web_app button opens the page as a Mini App.
    private_chat: bool = False


@dataclass(frozen=True)
class _Budget:
    """How much of the long parts to show; tightened until the message fits."""

    description: int
    calls: int
    changes: int
    warnings: int


BUDGETS = (
    _Budget(1500, 50, 50, 20),
    _Budget(600, 12, 12, 10),
    _Budget(200, 5, 5, 5),
    _Budget(0, 2, 2, 3),
    _Budget(0, 1, 0, 1),
)


def explorer_url(template: str | None, value: str) -> str | None:
    """Return an explorer link: `{hash}`/`{address}`/`{}` in the template is replaced, else appended."""
    if not template:
        return None
    for placeholder in ("{hash}", "{address}", "{}"):
        if placeholder in template:
            return template.replace(placeholder, value)
    return template + value


def proposer_label(proposer: str) -> str:
    """Return the proposer as HTML: a mention for Telegram users, escaped text otherwise."""
    actor = parse_actor(proposer)
    if actor is None:
        return esc(proposer)
    return mention(actor.user_id, actor.name or str(actor.user_id))


def owner_label(owner: str, snapshot: Snapshot) -> str:
    """Return an owner's address, with the linked Telegram user mentioned."""
    linked = snapshot.links.get(owner.lower())
    text = code(owner)
    return f"{text} ({mention(linked.user_id, linked.name)})" if linked else text


def _hex(value: bytes | None) -> str:
    return "" if value is None else "0x" + bytes(value).hex()


def warnings_of(snapshot: Snapshot) -> list[str]:
    """Return the risk warnings: the same list (and words) the signing page shows."""
    return signer_warnings(snapshot.view)


def _section(title: str, lines: Sequence[str], limit: int, more: str = "tap Details") -> list[str]:
    if not lines or limit <= 0:
        return [f"{bold(title)}: {len(lines)} ({more})"] if lines else []
    shown = list(lines[:limit])
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more ({more})")
    return [bold(title), *shown]


def _header(snapshot: Snapshot, budget: _Budget) -> list[str]:
    proposal = snapshot.view.proposal
    kind = "Rejection" if proposal.kind is ProposalKind.REJECTION else "Proposal"
    lines = [f"{bold(f'{kind} #{proposal.id}')}: {bold(proposal.title)}", state_badge(proposal)]
    lines.append(f"Proposed by {proposer_label(proposal.proposer)}")
    description = proposal.description.strip()
    if description and budget.description > 0:
        # One <i> per line: every rendered line stays self-contained HTML, so replies split safely.
        lines += [
            f"<i>{esc(line)}</i>" if line.strip() else ""
            for line in shorten(description, budget.description).split("\n")
        ]
    elif description:
        lines.append(f"<i>Description: {len(description)} characters (tap Details)</i>")
    return lines


def _body(snapshot: Snapshot, budget: _Budget, options: RenderOptions) -> list[str]:
    view = snapshot.view
    calls = [f"{i}. {esc(c.description)}" for i, c in enumerate(view.calls, start=1)]
    changes = [f"• {esc(c.what)}: {code(c.before)} → {code(c.after)}" for c in snapshot.changes]
    warnings = [f"⚠️ {esc(w)}" for w in warnings_of(snapshot)]
    lines = ["", *_section("Actions", calls, budget.calls)]
    if changes:
        lines += _section("Before → after", changes, budget.changes)
    lines += compose_lines(view.composes, budget.changes)
    if warnings:
        lines += ["", *_section("Risk warnings", warnings, budget.warnings)]
    safe = view.proposal.safe
    name = f" ({esc(options.safe_name)})" if options.safe_name else ""
    safe_url = explorer_url(options.explorer_address_url, safe)
    safe_text = link(safe_url, safe) if safe_url else code(safe)
    lines += ["", f"{bold('Safe')} {safe_text}{name} · nonce {view.proposal.nonce}"]
    lines += [f"safeTxHash {code(_hex(view.hashes.safe_tx_hash))}",
              f"domain hash {code(_hex(view.hashes.domain_hash))}",
              f"message hash {code(_hex(view.hashes.message_hash))}"]  # fmt: skip
    if view.safe_wallet_url:
        lines.append(link(view.safe_wallet_url, "Open in Safe{Wallet}"))
    return lines


def _signatures(snapshot: Snapshot) -> list[str]:
    view = snapshot.view
    by_owner = {s.owner.lower(): s for s in view.signatures}
    lines = [f"{bold(f'Signatures {view.valid_count}/{view.threshold}')} (of {len(view.owners)} owners)"]
    for owner in view.owners:
        signature = by_owner.get(owner.lower())
        if signature is not None and signature.valid:
            lines.append(f"✅ {owner_label(owner, snapshot)} · {esc(signature.kind)}")
        elif signature is not None:
            lines.append(f"❌ {owner_label(owner, snapshot)} · {esc(signature.note)}")
        else:
            lines.append(f"⬜ {owner_label(owner, snapshot)}")
    owners = {o.lower() for o in view.owners}
    for signature in view.signatures:
        if signature.owner.lower() not in owners:
            lines.append(f"❌ {code(signature.owner)} · {esc(signature.note or 'not an owner')}")
    return lines


def _outcome(proposal: Proposal, options: RenderOptions) -> list[str]:
    lines: list[str] = []
    if proposal.execution_tx_hash:
        tx = _hex(proposal.execution_tx_hash)
        url = explorer_url(options.explorer_tx_url, tx)
        block = f" (block {proposal.execution_block})" if proposal.execution_block else ""
        lines.append(f"Transaction {link(url, tx) if url else code(tx)}{block}")
    if proposal.state is ProposalState.FAILED and proposal.failure_reason:
        lines.append(f"Reason: {esc(proposal.failure_reason)}")
    elif proposal.state is ProposalState.EXECUTING and proposal.failure_reason:
        # Sent but not settled (the node unreachable, not mined yet): say why it is still executing.
        lines.append(f"Status: {esc(proposal.failure_reason)}")
    if proposal.rejects is not None:
        lines.append(f"Cancels proposal #{proposal.rejects} if executed.")
    if proposal.state in OPEN_STATES and proposal.expires_at is not None:
        lines.append(f"Expires {proposal.expires_at:%Y-%m-%d %H:%M} UTC")
    return lines


def announcement_text(snapshot: Snapshot, options: RenderOptions = RenderOptions()) -> str:
    """Return the announcement's HTML, shortened until it fits one Telegram message."""
    text = ""
    for budget in BUDGETS:
        parts = _header(snapshot, budget) + _body(snapshot, budget, options)
        parts += ["", *_signatures(snapshot)]
        outcome = _outcome(snapshot.view.proposal, options)
        if snapshot.fee_wait and snapshot.view.proposal.state is ProposalState.APPROVED:
            outcome.append(f"⏸ Execution waits: {esc(snapshot.fee_wait)}")
        if outcome:
            parts += ["", *outcome]
        if budget is not BUDGETS[0]:
            parts.append("<i>Shortened to fit; tap Details for everything.</i>")
        text = "\n".join(parts)
        if fits(text, MAX_MESSAGE):
            return text
    return shorten(text, MAX_MESSAGE - 1)  # unreachable with sane owner counts; never send too much


def announcement_keyboard(view: ProposalView, options: RenderOptions = RenderOptions()) -> InlineKeyboardMarkup:
    """Return the announcement's buttons: sign in browser (when configured), typed data, details, cancel."""
    proposal = view.proposal
    rows: list[list[InlineKeyboardButton]] = []
    is_open = proposal.state in OPEN_STATES
    if is_open and options.signing_url:
        rows.append([sign_button(proposal.id, options.signing_url, options)])
    second = [InlineKeyboardButton("🔎 Details", callback_data=encode(Button(Verb.DETAILS, proposal.id)))]
    if is_open:
        second.insert(
            0, InlineKeyboardButton("📄 Typed data", callback_data=encode(Button(Verb.TYPED_DATA, proposal.id)))
        )
    rows.append(second)
    if proposal.state in CANCELLABLE:
        rows.append([InlineKeyboardButton("✖️ Cancel", callback_data=encode(Button(Verb.CANCEL, proposal.id)))])
    return InlineKeyboardMarkup(rows)


def sign_button(proposal_id: int, signing_url: str, options: RenderOptions) -> InlineKeyboardButton:
    """Return the Sign button: a web_app in private chats, else the Mini App link or the page's URL."""
    page = signing_url.format(id=proposal_id)
    if options.private_chat:
        return InlineKeyboardButton("✍️ Sign", web_app=WebAppInfo(page))
    return InlineKeyboardButton("✍️ Sign", url=(options.mini_app_url or page).format(id=proposal_id))


def confirm_cancel_keyboard(proposal_id: int) -> InlineKeyboardMarkup:
    """Return the yes/no buttons that replace the keyboard while a cancel is confirmed."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"Yes, cancel #{proposal_id}",
                               callback_data=encode(Button(Verb.CANCEL_CONFIRMED, proposal_id))),
          InlineKeyboardButton("No, keep it", callback_data=encode(Button(Verb.KEEP, proposal_id)))]]
    )  # fmt: skip


def details_text(snapshot: Snapshot, options: RenderOptions = RenderOptions()) -> str:
    """Return everything about the proposal, unshortened (it may need several messages or a file)."""
    full = _Budget(10**9, 10**9, 10**9, 10**9)
    view = snapshot.view
    lines = _header(snapshot, full) + _body(snapshot, full, options) + ["", *_signatures(snapshot)]
    lines += ["", *_outcome(view.proposal, options)]
    lines += ["", bold("Safe transaction")]
    tx = view.proposal.safe_tx
    lines += [f"to {code(tx.to)} · value {tx.value} · operation {tx.operation}",
              f"data {code(_hex(tx.data))}"]  # fmt: skip
    return "\n".join(lines)


def reminder_text(snapshot: Snapshot) -> str:
    """Return a reminder that mentions only the owners who have not signed yet."""
    view = snapshot.view
    missing = [owner_label(owner, snapshot) for owner in view.missing_owners]
    proposal = view.proposal
    return (
        f"⏰ Proposal #{proposal.id} ({esc(shorten(proposal.title, 100))}) has {view.valid_count}/{view.threshold} "
        f"signatures.\nStill waiting for: {', '.join(missing)}\nSign with /typeddata {proposal.id}, then "
        f"/sign {proposal.id} 0x…"
    )


def mismatch_text(proposal_id: int) -> str:
    """Return the notice shown instead of a proposal whose stored actions do not match its calldata."""
    return (
        f"⚠️ Proposal #{proposal_id} cannot be shown because its stored actions do not match its calldata. "
        "Do not sign it."
    )


def outcome_text(proposal: Proposal, options: RenderOptions = RenderOptions()) -> str | None:
    """Return the reply posted when execution ends: the tx link, or the failure reason."""
    if proposal.state is ProposalState.EXECUTED and proposal.execution_tx_hash:
        tx = _hex(proposal.execution_tx_hash)
        url = explorer_url(options.explorer_tx_url, tx)
        return f"✅ Proposal #{proposal.id} executed in {link(url, short_hex(tx)) if url else code(tx)}"
    if proposal.state is ProposalState.FAILED:
        reason = proposal.failure_reason or "no reason recorded"
        return f"❌ Proposal #{proposal.id}: execution failed: {esc(reason)}"
    return None
