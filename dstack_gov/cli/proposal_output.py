"""Rendering proposals for people (rich) and machines (the core's JSON views)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dstack_gov.cli.compose_output import render_composes
from dstack_gov.cli.output import key_value_table
from proposals.catalogue import Risk
from proposals.models import Proposal
from proposals.views import ProposalView

_STATE_STYLE = {"pending": "yellow", "approved": "cyan", "executing": "cyan", "executed": "green",
                "failed": "red", "cancelled": "dim", "superseded": "dim", "expired": "dim"}  # fmt: skip


def state_label(state: str) -> str:
    """Return a coloured state name."""
    return f"[{_STATE_STYLE.get(state, 'white')}]{state}[/]"


def proposal_state_label(proposal: Proposal) -> str:
    """Return a coloured state name; a mined execution that is not final yet reads "executed, confirming"."""
    return "[green]executed[/], confirming" if proposal.confirming else state_label(proposal.state.value)


def render_view(console: Console, view: ProposalView) -> None:
    """Print one proposal: what it does, its risk, who signed, and the hashes to check."""
    p = view.proposal
    # Titles, descriptions, proposers and chain strings are user input: never markup.
    heading = f"[bold]#{p.id} {escape(p.title)}[/]  {proposal_state_label(p)}"
    console.print(f"{heading}  ({p.kind.value}, by {escape(p.proposer)})")
    if p.description:
        console.print(Text(p.description))
    for warning in view.warnings:
        console.print(f"[bold red]⚠ {escape(warning)}[/]")
    calls = Table(box=None, pad_edge=False, show_header=True)
    calls.add_column("#")
    calls.add_column("action", overflow="fold")
    calls.add_column("risk")
    for index, call in enumerate(view.calls, start=1):
        style = "red" if call.risk is Risk.HIGH else "yellow" if call.risk is Risk.MEDIUM else "green"
        calls.add_row(str(index), Text(call.description), f"[{style}]{call.risk.value}[/]")
    console.print(calls)
    render_composes(console, view.composes)
    if p.planned is not None:
        # Planned when the proposal was filed; the chain may have moved since.
        for warning in p.planned.warnings:
            console.print(f"[yellow]planned with a warning: {escape(warning)}[/]")
        for change in p.planned.changes:
            console.print(Text(f"  {change.label}: {change.before} → {change.after}"))
    signed = ", ".join(f"{s.owner} ({s.kind}{'' if s.valid else ': ' + s.note})" for s in view.signatures) or "-"
    rows: list[tuple[str, object]] = [
        ("Safe", f"{p.safe} nonce {p.nonce} (Safe is at {view.safe_nonce})"),
        ("signatures", f"{view.valid_count} of {view.threshold}"),
        ("signed", signed),
        ("not yet signed", ", ".join(view.missing_owners) or "-"),
        ("safeTxHash", "0x" + view.hashes.safe_tx_hash.hex()),
        ("domain hash", "0x" + view.hashes.domain_hash.hex()),
        ("message hash", "0x" + view.hashes.message_hash.hex()),
        ("expires", p.expires_at.isoformat(timespec="seconds") if p.expires_at else "never"),
    ]
    if view.safe_wallet_url:
        rows.append(("Safe{Wallet}", view.safe_wallet_url))
    if p.execution_tx_hash:
        rows.append(("execution", f"0x{p.execution_tx_hash.hex()} block {p.execution_block} gas {p.execution_gas:,}"))
    if p.failure_reason:
        rows.append(("failure", p.failure_reason))
    if p.rejects:
        rows.append(("rejects", f"proposal #{p.rejects}"))
    console.print(key_value_table(rows))


def proposals_table(proposals: list[Proposal]) -> Table:
    """Return a one-line-per-proposal table."""
    table = Table(box=None, pad_edge=False)
    for column in ("id", "state", "Safe", "nonce", "title"):
        table.add_column(column, overflow="fold")
    for p in proposals:
        table.add_row(str(p.id), proposal_state_label(p), p.safe, str(p.nonce), Text(p.title))
    return table
