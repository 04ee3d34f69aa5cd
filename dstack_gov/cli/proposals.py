"""Proposal commands: propose, sign, export, status, list, execute, cancel, audit, reconcile."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dstack_gov.cli.output import emit
from dstack_gov.cli.proposal_output import proposals_table, render_view
from dstack_gov.cli.session import Session, chain_options, key_options
from dstack_gov.wiring import Overrides, build_service
from proposals.catalogue import parse_address
from proposals.errors import ChainError, InvalidInput
from proposals.models import MAX_ID, ProposalState
from proposals.planning import ChangeRequest
from proposals.proposal_file import load_proposal_text
from proposals.service import GovernanceService
from proposals.signatures import parse_signature_hex
from proposals.store.audit_export import audit_to_csv, audit_to_json
from proposals.views import proposal_as_dict, view_as_dict


def service_for(session: Session, *, with_executor: bool = True, offline: bool = False) -> GovernanceService:
    """Build the governance service for this invocation (`offline`: for what reads only the database)."""
    overrides = Overrides(rpc_urls=session.rpc_urls, kms=session.kms)
    return build_service(session.config, overrides, with_executor=with_executor, offline=offline)


def default_proposer() -> str:
    """Name the local user as the proposer."""
    return f"cli:{getpass.getuser()}"


def file_proposal(session: Session, request: ChangeRequest, *, force: bool, nonce: int | None) -> None:
    """Propose `request` and print the announcement (executes nothing: it needs signatures)."""
    service = service_for(session, with_executor=False)
    proposal = service.propose(request, proposer=default_proposer(), force=force, nonce=nonce)
    view = service.view(proposal.id)

    def human(console: Console) -> None:
        console.print(f"[green]✓[/] proposal #{proposal.id} filed; owners sign it with `dstack-gov sign {proposal.id}`")
        render_view(console, view)

    emit(session.json_output, view_as_dict(view), human)


def _proposal_id(value: str) -> int:
    shown = value if len(value) <= 40 else value[:40] + "…"
    try:
        number = int(value.lstrip("#"))
    except ValueError:
        raise InvalidInput(f"not a proposal id: {shown!r}") from None
    if not 0 < number <= MAX_ID:
        raise InvalidInput(f"not a proposal id: {shown!r} (ids run from 1 to {MAX_ID})")
    return number


def _show(session: Session, service: GovernanceService, proposal_id: int, headline: str = "") -> None:
    view = service.view(proposal_id)

    def human(console: Console) -> None:
        if headline:
            console.print(headline)
        render_view(console, view)

    emit(session.json_output, view_as_dict(view), human)


@click.command("sign")
@click.argument("proposal_id")
@click.option("--signature", help="Import a signature (hex) made elsewhere: cast, a hardware wallet, a nested Safe.")
@click.option("--owner", help="The owner the signature is from (needed for a contract owner such as a nested Safe).")
@click.option("--approved-hash", is_flag=True, help="Record --owner's on-chain approveHash for this proposal.")
@chain_options
@key_options
def sign(proposal_id: str, signature: str | None, owner: str | None, approved_hash: bool, **options: Any) -> None:
    """Sign a proposal with a local owner key (EIP-712), or import a signature."""
    pid = _proposal_id(proposal_id)
    claimed = parse_address(owner, "--owner") if owner else None
    if approved_hash and (claimed is None or signature):
        raise InvalidInput("--approved-hash needs --owner and no --signature")
    raw = parse_signature_hex(signature) if signature else None
    session = Session.from_options(options)
    service = service_for(session)
    if approved_hash:
        result = service.add_signature(pid, b"", source="cli:approveHash", actor=default_proposer(),
                                       claimed_owner=claimed)  # fmt: skip
    elif raw is not None:
        result = service.add_signature(pid, raw, source="cli:import", actor=default_proposer(), claimed_owner=claimed)
    else:
        result = service.sign_with_account(pid, session.account, source=f"cli:{session.account.address}")
    headline = (f"[green]✓[/] signature by {result.signature.owner} ({result.signature.kind.value}) recorded: "
                f"{result.valid_count} of {result.threshold}")  # fmt: skip
    if result.execution_error:
        headline += f"\n[yellow]not executed yet:[/] {result.execution_error}"
    _show(session, service, pid, headline)


@click.command("export")
@click.argument("proposal_id")
@click.option("--typed-data", "typed", is_flag=True, required=True, help="Export the EIP-712 typed data JSON.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file.")
@chain_options
def export(proposal_id: str, typed: bool, output: Path | None, **options: Any) -> None:
    """Export what owners sign, for `cast wallet sign --data` or eth_signTypedData_v4."""
    pid = _proposal_id(proposal_id)
    session = Session.from_options(options)
    data = service_for(session, with_executor=False).typed_data(pid)
    text = json.dumps(data, indent=2)
    if output is None:
        click.echo(text)
        return
    output.write_text(text + "\n")
    emit(session.json_output, {"file": str(output)}, lambda c: c.print(f"typed data written to {output}"))


@click.command("status")
@click.argument("proposal_id", required=False)
@chain_options
def status(proposal_id: str | None, **options: Any) -> None:
    """Show one proposal (or every open one) as the chain has it now."""
    session = Session.from_options(options)
    service = service_for(session, with_executor=False)
    if proposal_id is not None:
        _show(session, service, _proposal_id(proposal_id))
        return
    open_ = service.list_proposals([ProposalState.PENDING, ProposalState.APPROVED, ProposalState.EXECUTING,
                                    ProposalState.FAILED])  # fmt: skip
    emit(session.json_output, {"proposals": [proposal_as_dict(p) for p in open_]},
         lambda c: c.print(proposals_table(open_) if open_ else "no open proposals"))  # fmt: skip


@click.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in ProposalState]),
              help="Only proposals in this state (repeatable).")  # fmt: skip
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@chain_options
def list_(states: tuple[str, ...], limit: int, **options: Any) -> None:
    """List proposals, newest first."""
    session = Session.from_options(options)
    service = service_for(session, with_executor=False)
    found = service.list_proposals([ProposalState(s) for s in states] or None, limit=limit)
    emit(session.json_output, {"proposals": [proposal_as_dict(p) for p in found]},
         lambda c: c.print(proposals_table(found) if found else "no proposals"))  # fmt: skip


@click.command("execute")
@click.argument("proposal_id")
@chain_options
def execute(proposal_id: str, **options: Any) -> None:
    """Execute a proposal that has enough signatures (with the configured executor key)."""
    pid = _proposal_id(proposal_id)
    session = Session.from_options(options)
    service = service_for(session)
    done = service.execute(pid, actor=default_proposer())
    if done.state is ProposalState.FAILED:
        if not session.json_output:  # --json prints one object: here the error, which carries the reason
            _show(session, service, pid)
        raise ChainError(f"proposal #{pid} failed: {done.failure_reason}")
    _show(session, service, pid, f"[green]✓[/] proposal #{pid} is {done.state.value}")


@click.command("cancel")
@click.argument("proposal_id")
@chain_options
def cancel(proposal_id: str, **options: Any) -> None:
    """Withdraw a proposal nobody signed, or propose the rejection that cancels it."""
    pid = _proposal_id(proposal_id)
    session = Session.from_options(options)
    service = service_for(session, with_executor=False)
    result = service.cancel(pid, actor=default_proposer())
    if result.rejection is None:
        _show(session, service, pid, f"[green]✓[/] proposal #{pid} withdrawn")
        return
    headline = (f"proposal #{pid} already has signatures: rejection #{result.rejection.id} uses its nonce; "
                f"once owners sign and execute it, #{pid} is cancelled")  # fmt: skip
    _show(session, service, result.rejection.id, headline)


@click.command("audit")
@click.option("--proposal", "proposal_id", help="Only this proposal's entries.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@chain_options
def audit(proposal_id: str | None, as_csv: bool, **options: Any) -> None:
    """Print the append-only audit log (--json for JSON, --csv for CSV)."""
    pid = _proposal_id(proposal_id) if proposal_id else None
    session = Session.from_options(options)
    service = service_for(session, offline=True)  # the audit log is read even while the RPC is down
    try:
        entries = service.audit(pid)
    finally:
        service.close()
    if as_csv:
        click.echo(audit_to_csv(entries), nl=False)
    elif session.json_output:
        click.echo(audit_to_json(entries))
    else:
        for e in entries:
            target = f"#{e.proposal_id}" if e.proposal_id else "-"
            click.echo(f"{e.at.isoformat(timespec='seconds')}  {target:>5}  {e.actor:<24} {e.event}")


@click.command("reconcile")
@chain_options
def reconcile(**options: Any) -> None:
    """Run one reconciliation pass against the chain (for cron, without the bot)."""
    session = Session.from_options(options)
    service = service_for(session)
    report = service.reconcile()
    data = report.as_dict()
    if service.tx_service_enabled:
        # The Safe Transaction Service being down is reported, not fatal: the outbox catches up next time.
        data["txService"] = service.sync_tx_service().as_dict()

    def human(console: Console) -> None:
        changed = {k: v for k, v in data.items() if v and k != "txService"}
        changed |= {f"txService.{k}": v for k, v in data.get("txService", {}).items() if v and k != "requests"}
        console.print("nothing to do" if not changed else "\n".join(f"{k}: {v}" for k, v in changed.items()))

    if not (report.errors and session.json_output):  # --json prints one object: the report or the error
        emit(session.json_output, data, human)
    if report.errors:
        raise click.ClickException("; ".join(report.errors))


def proposal_from_file(path: Path) -> ChangeRequest:
    """Read a YAML/JSON proposal file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(f"proposal file {path}: {exc.strerror or 'cannot read'}") from None
    return load_proposal_text(text, source=f"proposal file {path}", base_dir=path.parent)


@click.group("propose", invoke_without_command=True)
@click.option("--file", "proposal_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A YAML/JSON proposal file: title, description, actions.")  # fmt: skip
@click.option("--force", is_flag=True, help="Propose even if a precheck refuses (or --nonce is far ahead).")
@click.option("--nonce", type=click.IntRange(0), help="Use this Safe nonce (default: next free; 100+ ahead: --force).")
@chain_options
@click.pass_context
def propose(ctx: click.Context, /, proposal_file: Path | None, force: bool, nonce: int | None, **options: Any) -> None:
    """File a Safe proposal: `propose --file F`, or `propose kms add-image 0x…` for one action."""
    if ctx.invoked_subcommand is not None:
        if proposal_file is not None:
            raise click.UsageError("use either --file or an action, not both")
        return
    if proposal_file is None:
        raise click.UsageError("give --file FILE or an action (see `dstack-gov propose --help`)")
    request = proposal_from_file(proposal_file)
    file_proposal(Session.from_options(options), request, force=force, nonce=nonce)
