"""The signing page's HTML: every fact rendered by the server, every user text escaped.

The page reads correctly before (and without) its script: the title, the proposer, the decoded actions,
before → after, the risk warnings (the announcement's words, from `signer_warnings`), the Safe, chain,
nonce and the three hashes a hardware wallet shows, and who has signed. The script only adds the wallet.
"""

from __future__ import annotations

import html
import re

from proposals.models import OPEN_STATES, ProposalKind, ProposalState
from proposals.views import ProposalView, signer_warnings

ASSET_VERSION = "1"  # bumped with sign.js/sign.css so cached copies are not used with a new page
_ACTOR = re.compile(r"^telegram:(\d+)(?::(.*))?$", re.DOTALL)  # how the bot records Telegram users
STATE_WORDS = {
    ProposalState.DRAFT: "Draft",
    ProposalState.PENDING: "Waiting for signatures",
    ProposalState.APPROVED: "Approved: executing",
    ProposalState.EXECUTING: "Executing",
    ProposalState.EXECUTED: "Executed",
    ProposalState.FAILED: "Execution failed",
    ProposalState.CANCELLED: "Cancelled",
    ProposalState.SUPERSEDED: "Superseded (its nonce was used by another transaction)",
    ProposalState.EXPIRED: "Expired",
}


def esc(text: object) -> str:
    """Escape text for HTML content and attribute values alike."""
    return html.escape(str(text), quote=True)


def _hex(value: bytes | None) -> str:
    return "" if value is None else "0x" + bytes(value).hex()


def typed_data_name(proposal_id: int) -> str:
    """Return the typed-data file name (the same as the bot's /typeddata file)."""
    return f"proposal-{proposal_id}-typed-data.json"


def proposer_text(proposer: str) -> str:
    """Return the proposer in words: a Telegram user's name, else the recorded text."""
    match = _ACTOR.match(proposer)
    if match is None:
        return proposer
    return f"{match.group(2) or match.group(1)} (Telegram)"


def document(title: str, body: str, *, data: dict[str, str] | None = None) -> str:
    """Return one complete page: the stylesheet and the module from this origin, nothing inline."""
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in (data or {}).items())
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n<meta name="referrer" content="no-referrer">\n'
        f'<title>{esc(title)}</title>\n<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="/static/sign.css?v={ASSET_VERSION}">\n'
        f'<script type="module" src="/static/sign.js?v={ASSET_VERSION}"></script>\n'
        f'</head>\n<body>\n<main id="page"{attrs}>\n{body}\n</main>\n</body>\n</html>\n'
    )


def message_page(title: str, message: str) -> str:
    """Return a page that only says something (an unknown proposal, an error)."""
    body = f'<h1>{esc(title)}</h1>\n<p id="status" class="status" data-state="error" role="status">{esc(message)}</p>'
    return document(title, body, data={"state": "error"})


def _list(tag: str, items: list[str], cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f"<{tag}{klass}>" + "".join(f"<li>{item}</li>" for item in items) + f"</{tag}>"


def _header(view: ProposalView) -> str:
    proposal = view.proposal
    kind = "Rejection" if proposal.kind is ProposalKind.REJECTION else "Proposal"
    parts = [
        f'<p class="eyebrow">{kind} #{proposal.id} · <span class="badge">{esc(STATE_WORDS[proposal.state])}</span></p>',
        f"<h1>{esc(proposal.title)}</h1>",
        f'<p class="muted">Proposed by {esc(proposer_text(proposal.proposer))}</p>',
    ]
    if proposal.description.strip():
        parts.append(f'<p class="description">{esc(proposal.description.strip())}</p>')
    return "<header>" + "".join(parts) + "</header>"


def _actions(view: ProposalView) -> str:
    calls = [esc(c.description) for c in view.calls]
    out = f'<section aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2>{_list("ol", calls)}'
    planned = view.proposal.planned
    if planned is not None and planned.changes:
        changes = [
            f"{esc(c.label)}: <code>{esc(c.before)}</code> → <code>{esc(c.after)}</code>" for c in planned.changes
        ]
        out += f"<h3>Before → after</h3>{_list('ul', changes, 'changes')}"
    out += "</section>"
    warnings = signer_warnings(view)
    if warnings:
        items = [esc(w) for w in warnings]
        out += (
            '<section class="warnings" aria-labelledby="h-risk"><h2 id="h-risk">Risk warnings</h2>'
            f"{_list('ul', items)}</section>"
        )
    return out


def _facts(view: ProposalView) -> str:
    tx = view.proposal.safe_tx
    rows = [
        ("Safe", tx.safe),
        ("Chain", str(tx.chain_id)),
        ("Nonce", str(tx.nonce)),
        ("safeTxHash", _hex(view.hashes.safe_tx_hash)),
        ("Domain hash", _hex(view.hashes.domain_hash)),
        ("Message hash", _hex(view.hashes.message_hash)),
    ]
    cells = "".join(f"<dt>{esc(k)}</dt><dd><code>{esc(v)}</code></dd>" for k, v in rows)
    hint = "A hardware wallet shows the domain hash and the message hash: compare them before you approve."
    wallet = ""
    if view.safe_wallet_url:  # Transaction Service sync is on: the same transaction is in Safe{Wallet}'s queue
        wallet = f'<p><a href="{esc(view.safe_wallet_url)}" rel="noopener noreferrer">Open in Safe{{Wallet}}</a></p>'
    return (
        f'<section aria-labelledby="h-facts"><h2 id="h-facts">What you sign</h2><dl class="facts">{cells}</dl>'
        f'<p class="muted">{hint}</p>{wallet}</section>'
    )


def _signers(view: ProposalView) -> str:
    by_owner = {s.owner.lower(): s for s in view.signatures}
    items = []
    for owner in view.owners:
        signature = by_owner.get(owner.lower())
        if signature is not None and signature.valid:
            mark, words = "signed", f"signed ({esc(signature.kind)})"
        elif signature is not None:
            mark, words = "refused", f"does not count: {esc(signature.note)}"
        else:
            mark, words = "missing", "not signed yet"
        items.append(f'<span data-owner="{esc(owner.lower())}"><span class="mark {mark}" aria-hidden="true"></span>'
                     f'<code>{esc(owner)}</code> <span class="said">{words}</span></span>')  # fmt: skip
    count = f'<span id="count">{view.valid_count}</span> of {view.threshold}'
    return (
        f'<section aria-labelledby="h-signers"><h2 id="h-signers">Signatures: {count}</h2>'
        f'<p class="muted">{len(view.owners)} owners; {view.threshold} signatures execute it.</p>'
        f"{_list('ul', items, 'signers')}</section>"
    )


def _closed_reason(view: ProposalView) -> str:
    proposal = view.proposal
    words = f"This proposal is {STATE_WORDS[proposal.state].lower()}; it takes no more signatures."
    if proposal.execution_tx_hash:
        words += f" Transaction {_hex(proposal.execution_tx_hash)}."
    if proposal.state is ProposalState.FAILED and proposal.failure_reason:
        words += f" Reason: {proposal.failure_reason}"
    return words


def _wallet(view: ProposalView) -> str:
    if view.proposal.state not in OPEN_STATES or view.proposal.state is ProposalState.EXECUTING:
        return (f'<section id="wallet" aria-labelledby="h-wallet"><h2 id="h-wallet">Sign</h2>'
                f'<p id="status" class="status" data-state="closed" role="status">{esc(_closed_reason(view))}</p>'
                "</section>")  # fmt: skip
    return (
        '<section id="wallet" aria-labelledby="h-wallet"><h2 id="h-wallet">Sign with your wallet</h2>'
        '<p id="status" class="status" data-state="loading" role="status" aria-live="polite">'
        "Looking for a browser wallet… (this page needs JavaScript for that; the file below works without)</p>"
        '<div id="wallets" class="wallets"></div>'
        '<button id="retry" type="button" class="secondary" hidden>Try again</button>'
        '<div id="link" class="link" hidden><p class="muted">Link this owner address to your Telegram account, so '
        'the bot mentions you for it:</p><button id="link-button" type="button" class="secondary">Link my wallet '
        "to Telegram</button></div></section>"
    )


def _fallbacks(view: ProposalView) -> str:
    pid = view.proposal.id
    name = typed_data_name(pid)
    command = f"cast wallet sign --data --from-file {name}"
    return (
        '<section aria-labelledby="h-other"><h2 id="h-other">Other ways to sign</h2>'
        f'<p><a class="button secondary" href="/sign/{pid}/typed-data.json" download="{esc(name)}">'
        "Download the typed data</a></p>"
        f"<p>Sign the file with any tool, for example (add <code>--ledger</code> or <code>--trezor</code> for a "
        f"hardware wallet):</p><pre><code>{esc(command)}</code></pre>"
        f"<p>then send <code>/sign {pid} 0x&lt;signature&gt;</code> in the signers' chat. Or run "
        f"<code>dstack-gov sign {pid}</code>, or approve the safeTxHash on chain with <code>approveHash</code>.</p>"
        "</section>"
    )


def proposal_page(view: ProposalView, *, link_enabled: bool = False) -> str:
    """Return the signing page of one proposal."""
    proposal = view.proposal
    signable = view.is_open and proposal.state is not ProposalState.EXECUTING
    signed = [s.owner for s in view.signatures if s.valid]
    data = {
        "proposal": str(proposal.id),
        "chain-id": str(proposal.safe_tx.chain_id),
        "safe": proposal.safe,
        "owners": ",".join(view.owners),
        "signed": ",".join(signed),
        "threshold": str(view.threshold),
        "state": "loading" if signable else "closed",
        "link": "on" if link_enabled else "off",
    }
    body = _header(view) + _actions(view) + _facts(view) + _signers(view) + _wallet(view)
    if signable:
        body += _fallbacks(view)
    return document(f"Sign proposal #{proposal.id}: {proposal.title}", body, data=data)
