"""CLI commands generated from the action catalogue: `kms …`, `app …`, `safe …`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.markup import escape

from dstack_gov.cli.output import changes_json, changes_table, emit, key_value_table
from dstack_gov.cli.session import Session, chain_options, key_options
from proposals.catalogue import Action, Group, Kind, Param, actions, parse_address
from proposals.compose import read_compose_file
from proposals.compose_review import attach_compose
from proposals.direct import DirectResult, DirectRunner
from proposals.errors import InvalidInput
from proposals.planning import ChangeRequest, RequestedAction


def identifier(param: Param) -> str:
    """Return the Python identifier click uses for a camelCase ABI name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", param.name).lower()


def option_flag(param: Param) -> str:
    """Return the --flag of an optional parameter."""
    return param.flag or "--" + identifier(param).replace("_", "-")


def click_params(action: Action) -> list[click.Parameter]:
    """Return the click parameters that carry the action's own values."""
    params: list[click.Parameter] = []
    for param in action.params:
        name = identifier(param)
        if param.kind is Kind.BOOL and param.flag:
            params.append(click.Option([param.flag, name], is_flag=True, default=None, help=param.help))
        elif param.optional:
            params.append(click.Option([option_flag(param), name], default=None, help=param.help))
        elif param.name == action.compose_param:  # --compose-file can give it
            params.append(click.Argument([name], metavar=f"[{name.upper()}]", required=False))
        else:
            params.append(click.Argument([name], metavar=name.upper()))
    return params


def compose_option(action: Action) -> list[click.Parameter]:
    """Return --compose-file for an action whose hash an app-compose.json may stand behind."""
    if action.compose_param is None:
        return []
    return [click.Option(["--compose-file"], type=click.Path(path_type=Path, dir_okay=False),
                         help="The app-compose.json behind the hash: checked against it (or gives it) and shown "
                              "to signers with the proposal.")]  # fmt: skip


def with_compose_file(action: Action, raw: dict[str, Any], path: Path | None) -> tuple[dict[str, Any], bytes | None]:
    """Return the values with the compose hash checked against (or taken from) the file, and the file's bytes."""
    given = {k: v for k, v in raw.items() if v is not None}
    if path is None:
        return given, None
    compose = read_compose_file(path)
    values, _ = attach_compose(action, given, compose, source=f"compose file {path}")
    return values, compose


def target_options(group: Group) -> list[click.Parameter]:
    """Return the option naming the target contract for `group`."""
    if group is Group.APP:
        return [click.Option(["--app-id"], help="The app contract (App ID); default: contracts.default_app.")]
    if group is Group.SAFE:
        return [click.Option(["--safe"], help="The Safe; default: the first [[safes]] entry of the config.")]
    return []


def resolve_target(session: Session, group: Group, options: dict[str, Any]) -> ChecksumAddress:
    """Return the contract an action of `group` is sent to."""
    if group is Group.KMS:
        return session.require_kms()
    if group is Group.APP:
        raw = options.pop("app_id", None) or session.config.contracts.default_app
        if not raw:
            raise InvalidInput("no app: pass --app-id (or set contracts.default_app in the config)")
        return parse_address(raw, "--app-id")
    raw = options.pop("safe", None) or (session.config.safes[0].address if session.config.safes else None)
    if not raw:
        raise InvalidInput("no Safe: pass --safe (or add a [[safes]] entry to the config)")
    return parse_address(raw, "--safe")


def parse_values(action: Action, options: dict[str, Any]) -> dict[str, Any]:
    """Pop the action's values out of click's kwargs and validate them."""
    raw = {p.name: options.pop(identifier(p)) for p in action.params}
    return action.parse({k: v for k, v in raw.items() if v is not None})


def render_direct(session: Session, result: DirectResult) -> None:
    """Print what a direct transaction did."""
    receipt = result.receipt
    payload: dict[str, Any] = {
        "action": result.action.name,
        "target": result.target,
        "description": result.action.describe(result.values, result.target),
        "txHash": receipt.tx_hash,
        "blockNumber": receipt.block_number,
        "gasUsed": receipt.gas_used,
        "state": changes_json(result.changes),
        "warnings": list(result.warnings),
    }
    if result.app_id:
        payload["appId"] = result.app_id

    def human(console: Console) -> None:
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}")
        console.print(f"[green]✓[/] {escape(payload['description'])}")
        rows = [
            ("tx", payload["txHash"]),
            ("block", receipt.block_number),
            ("gas used", f"{receipt.gas_used:,}"),
        ]
        if result.app_id:
            rows.insert(0, ("App ID", result.app_id))
        console.print(key_value_table(rows))
        if result.changes:
            console.print(changes_table(result.changes))

    emit(session.json_output, payload, human)


def _default_title(action: Action, raw: dict[str, Any], target: ChecksumAddress) -> str:
    shown = {p.name: raw[p.name] if raw.get(p.name) is not None else "(default)" for p in action.params}
    return action.describe(shown, target)[:200]


def _owner_is_contract(session: Session, action: Action, target: ChecksumAddress) -> bool:
    """Return True when whoever must call `action` on `target` is a contract (a Safe)."""
    if action.group is Group.SAFE or action.permissionless:
        return action.group is Group.SAFE
    session.reader.require_code(target, f"{action.group.value} contract")
    caller = parse_address(session.reader.read(action.group, target, action.caller_getter), action.caller_getter)
    return session.reader.has_code(caller)


def action_command(action: Action, *, proposing: bool) -> click.Command:
    """Build the CLI command of one catalogue action (direct, via a Safe proposal, or either)."""

    def callback(**options: Any) -> None:
        from dstack_gov.cli.proposals import file_proposal

        force = bool(options.pop("force"))
        via_safe = True if proposing else options.pop("via_safe")
        title, description, nonce = options.pop("title"), options.pop("description"), options.pop("nonce")
        raw = {p.name: options.pop(identifier(p)) for p in action.params}
        given, compose = with_compose_file(action, raw, options.pop("compose_file", None))
        values = action.parse(given)  # input errors before any chain I/O
        session = Session.from_options(options)
        target = resolve_target(session, action.group, options)
        if via_safe is None:
            via_safe = _owner_is_contract(session, action, target)
        if via_safe:
            requested = RequestedAction(action, given, target, compose)
            request = ChangeRequest(title or _default_title(action, given, target), (requested,), description or "")
            file_proposal(session, request, force=force, nonce=nonce)
            return
        sender = session.sender()
        result = DirectRunner(session.reader, sender).run(action, target, values, force=force)
        render_direct(session, result)

    params: list[click.Parameter] = [
        *click_params(action),
        *compose_option(action),
        *target_options(action.group),
        click.Option(["--force"], is_flag=True, help="Go ahead even if the precheck (or --nonce check) refuses."),
        click.Option(["--title"], help="Proposal title (Safe mode; default: the action in words)."),
        click.Option(["--description"], help="Proposal description (Safe mode)."),
        click.Option(["--nonce"], type=click.IntRange(0), help="Use this Safe nonce (Safe mode; default: next free)."),
    ]
    if not proposing:
        params.append(click.Option(["--via-safe/--direct"], "via_safe", default=None,
                                   help="Propose to the owning Safe, or send with the key "
                                        "(default: propose when the owner is a contract)."))  # fmt: skip
    mode = "Files a Safe proposal." if proposing else "Sends with your key, or files a Safe proposal."
    command = click.Command(
        action.command,
        callback=callback,
        params=params,
        help=f"{action.summary}\n\n{mode} Risk: {action.risk.value}. Calls {action.function}.",
        short_help=action.summary,
    )
    # click's option decorators append to a built Command as well as to a function.
    return key_options(chain_options(command)) if not proposing else chain_options(command)


def group_for(group: Group, help_text: str, *, proposing: bool = False) -> click.Group:
    """Build a command group holding every catalogue action of `group`."""
    cli_group = click.Group(group.value, help=help_text)
    for action in actions(group):
        cli_group.add_command(action_command(action, proposing=proposing))
    return cli_group
