"""`policy export|plan|apply|drift`: a KMS's whole policy as one reviewed YAML file (docs/policy.md).

Exit status: 0 done (plan: the chain matches; drift: none), 4 `plan`: changes pending, 5 `drift`: drift
found, 2 bad input, 1 chain or runtime error (as every command).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.markup import escape

from dstack_gov.cli.output import emit
from dstack_gov.cli.proposals import default_proposer, service_for
from dstack_gov.cli.session import Session, chain_options, key_options
from proposals.catalogue import parse_address
from proposals.drift import DriftReport
from proposals.errors import InvalidInput
from proposals.policy_file import MAX_POLICY_BYTES, PolicySpec, dump_policy, load_policy_text
from proposals.policy_plan import PolicyPlan, plan_as_dict
from proposals.policy_service import PolicyApplication

EXIT_CHANGES_PENDING = 4
EXIT_DRIFT = 5
_RISK_STYLE = {"low": "green", "medium": "yellow", "high": "red"}


@click.group("policy")
def policy() -> None:
    """A KMS's whole policy as one YAML file: export, plan, apply, drift."""


def compose_file_hash(path: Path) -> bytes:
    """Return the compose hash an app-compose.json file stands for (the sha256 of its bytes)."""
    try:
        from proposals.compose import MAX_COMPOSE_BYTES, parse_compose
    except ImportError:
        raise InvalidInput("composeFiles: not supported yet (no compose-review module); list composeHashes") from None
    data = _read_bounded(path, MAX_COMPOSE_BYTES, "compose file")
    return parse_compose(data, source=path.name).file_sha256


def _read_bounded(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)  # bounded: the path may name a device or a huge file
    except OSError as exc:
        raise InvalidInput(f"{what} {path}: {exc.strerror or 'cannot read'}") from None
    if len(data) > limit:
        raise InvalidInput(f"{what} {path}: larger than {limit // 1024} KiB")
    return data


def explicit_kms(session: Session) -> ChecksumAddress | None:
    """Return --kms if given: a policy file naming its KMS wins over the config's, never over --kms."""
    return parse_address(session.kms_option, "--kms") if session.kms_option else None


def load_policy_file(path: Path) -> PolicySpec:
    """Read and parse a policy file; composeFiles are read relative to it."""
    data = _read_bounded(path, MAX_POLICY_BYTES, "policy file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name}: not UTF-8 text") from None
    return load_policy_text(text, source=path.name, base=path.parent, compose_hasher=compose_file_hash)


@policy.command("export")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file.")
@chain_options
def export(output: Path | None, **options: Any) -> None:
    """Write the chain's current policy as a policy file (to stdout by default)."""
    session = Session.from_options(options)
    spec, state = service_for(session, with_executor=False).export_policy(session.kms)
    text = dump_policy(spec, f"Policy of KMS {state.kms}, exported at block {state.block}.")
    if output is not None:
        output.write_text(text)
    if session.json_output:
        emit(True, {"kms": state.kms, "block": state.block, "policy": spec.as_json(), "written": output}, print)
    elif output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output} (block {state.block})")


def render_plan(console: Console, plan: PolicyPlan) -> None:
    """Print the plan grouped by contract, each action with its risk and what it stops from booting."""
    if not plan.steps:
        console.print(f"[green]no changes[/]: the chain matches the policy (block {plan.block})")
    for contract in plan.contracts:
        console.print(f"\n[bold]{contract.group.value} {contract.target}[/] (owner {contract.owner})")
        for step in contract.steps:
            risk = step.action.risk.value
            console.print(f"  [{_RISK_STYLE[risk]}]{risk:<6}[/] {step.action.cli_path}  {escape(step.description)}")
            for impact in step.impacts:
                console.print(f"         [yellow]![/] {escape(impact)}")
    for note in plan.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if plan.steps:
        console.print(f"\n{len(plan.steps)} change(s) at block {plan.block}; plan hash [bold]{plan.plan_hash}[/]")


@policy.command("plan")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@chain_options
def plan(file: Path, **options: Any) -> None:
    """Show what applying FILE would change, contract by contract; exit 4 when changes are pending."""
    spec = load_policy_file(file)
    session = Session.from_options(options)
    result = service_for(session, with_executor=False).plan_policy(spec, kms=explicit_kms(session))
    emit(session.json_output, plan_as_dict(result), lambda console: render_plan(console, result))
    if result.steps:
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


def _confirmed_hash(session: Session, result: PolicyPlan) -> str:
    """Show the plan and ask; the hash shown is the one applied (a chain changed meanwhile is refused)."""
    if session.json_output or not sys.stdin.isatty():
        raise InvalidInput("pass --plan-hash (as `policy plan` prints it), or run this in a terminal to confirm")
    from dstack_gov.cli.output import console

    render_plan(console, result)
    if not click.confirm(f"Apply this plan (hash {result.plan_hash[:16]}…)?", default=False):
        raise click.exceptions.Abort()
    return result.plan_hash


def render_application(console: Console, done: PolicyApplication) -> None:
    """Say what `apply` filed."""
    for proposal in done.proposals:
        console.print(f"[green]✓[/] proposal #{proposal.id} for Safe {proposal.safe} (nonce {proposal.nonce}): "
                      f"{escape(proposal.title)}")  # fmt: skip
    for result in done.direct:
        tx = "0x" + bytes(result.receipt.tx_hash).hex()
        console.print(f"[green]✓[/] sent {result.action.cli_path} to {result.target}: tx {tx}")
    if not done.proposals and not done.direct:
        console.print("[green]no changes[/]: the chain matches the policy; recorded as the applied policy")
    console.print(f"recorded as applied policy #{done.applied.id} (plan hash {done.applied.plan_hash[:16]}…)")


@policy.command("apply")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--plan-hash", help="The hash `policy plan` printed; refused if the chain changed since.")
@click.option("--direct", is_flag=True, help="Send the changes to contracts your key owns as transactions.")
@chain_options
@key_options
def apply(file: Path, plan_hash: str | None, direct: bool, **options: Any) -> None:
    """File FILE's plan: one batch proposal per owning Safe (or direct transactions with --direct)."""
    spec = load_policy_file(file)
    session = Session.from_options(options)
    service = service_for(session, with_executor=False)
    if plan_hash is None:
        plan_hash = _confirmed_hash(session, service.plan_policy(spec, kms=explicit_kms(session)))
    sender = session.sender() if direct else None
    done = service.apply_policy(spec, plan_hash=plan_hash, proposer=default_proposer(), source=file.name,
                                kms=explicit_kms(session), direct=sender)  # fmt: skip
    payload = {
        "appliedPolicy": done.applied.id,
        "planHash": done.plan.plan_hash,
        "proposals": [{"id": p.id, "safe": p.safe, "nonce": p.nonce, "title": p.title} for p in done.proposals],
        "direct": [{"action": r.action.name, "target": r.target, "txHash": r.receipt.tx_hash} for r in done.direct],
    }
    emit(session.json_output, payload, lambda console: render_application(console, done))


def drift_as_dict(report: DriftReport) -> dict[str, Any]:
    """Return a drift report as JSON-ready data."""
    return {
        "kms": report.kms,
        "block": report.block,
        "sinceBlock": report.since_block,
        "appliedPolicy": report.applied.id if report.applied else None,
        "drifted": report.drifted,
        "items": [{"contract": i.contract, "owner": i.owner, "field": i.field, "value": i.value, "wanted": i.wanted,
                   "actual": i.actual, "block": i.block, "txHash": i.tx_hash, "via": i.via,
                   "description": i.describe()} for i in report.items],
        "pending": list(report.pending),
    }  # fmt: skip


def render_drift(console: Console, report: DriftReport) -> None:
    """Print each drifted item with the block and transaction of its last change."""
    against = f"applied policy #{report.applied.id} ({escape(report.applied.source)})" if report.applied else None
    if not report.items:
        console.print(f"[green]no drift[/] at block {report.block}" + (f" from {against}" if against else ""))
    for item in report.items:
        where = f"block {item.block}, tx 0x{item.tx_hash.hex()}" if item.tx_hash else "no transaction"
        origin = f"through dstack-gov ({item.via})" if item.via else "outside dstack-gov"
        console.print(f"[red]drift[/] {escape(item.describe())}\n      {where}, {origin}")
    for line in report.pending:
        console.print(f"[dim]pending (an open proposal): {escape(line)}[/]")


@policy.command("drift")
@chain_options
def drift(**options: Any) -> None:
    """Compare the chain with the last applied policy file and dstack-gov's own changes; exit 5 on drift."""
    session = Session.from_options(options)
    report = service_for(session, with_executor=False).policy_drift(session.kms)
    emit(session.json_output, drift_as_dict(report), lambda console: render_drift(console, report))
    if report.drifted:
        raise click.exceptions.Exit(EXIT_DRIFT)
