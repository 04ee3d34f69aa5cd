"""`info kms|gateway|app` and `check app|kms`: read-only views of the on-chain policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from web3 import Web3

from authapi.body import MAX_BODY_BYTES
from authapi.request import BootAuthRequest
from dstack_gov.cli.output import emit, key_value_table
from dstack_gov.cli.session import Session, chain_options
from foundation.bounded import ParseError, loads_json
from proposals.catalogue import Group, parse_address
from proposals.errors import InvalidInput, translate_chain_errors
from proposals.policy import AppPolicy, KmsPolicy, as_dict, hex_list, read_app_policy, read_kms_policy

# `check` denied: not an error (the verdict is printed), but scripts must not read it as allowed.
EXIT_DENIED = 3


@click.group("info")
def info() -> None:
    """Show the KMS, gateway or an app as the chain has them."""


def _kms_rows(policy: KmsPolicy) -> list[tuple[str, Any]]:
    return [
        ("KMS", policy.kms),
        ("owner", policy.owner),
        ("pending owner", policy.pending_owner or "-"),
        ("implementation", policy.implementation),
        ("gateway app id", policy.gateway_app_id or "-"),
        ("app implementation", policy.app_implementation or "-"),
        ("k256 public key", ("0x" + policy.k256_pubkey.hex()) if policy.k256_pubkey else "-"),
        ("OS images", ", ".join(hex_list(policy.os_images)) or "-"),
        ("aggregated MRs", ", ".join(hex_list(policy.aggregated_mrs)) or "-"),
        ("KMS devices", ", ".join(hex_list(policy.devices)) or "-"),
        ("registered apps", ", ".join(policy.apps) or "-"),
    ]


def _app_rows(policy: AppPolicy) -> list[tuple[str, Any]]:
    registered = {None: "unknown (no KMS)", True: "yes", False: "no"}[policy.registered]
    return [
        ("App ID", policy.app),
        ("owner", policy.owner),
        ("pending owner", policy.pending_owner or "-"),
        ("implementation", policy.implementation),
        ("registered with KMS", registered),
        ("allow any device", policy.allow_any_device),
        ("require TCB up to date", policy.require_tcb_up_to_date),
        ("upgrades disabled", policy.upgrades_disabled),
        ("compose hashes", ", ".join(hex_list(policy.compose_hashes)) or "-"),
        ("devices", ", ".join(hex_list(policy.devices)) or "-"),
    ]


@info.command("kms")
@chain_options
def info_kms(**options: Any) -> None:
    """Show the KMS settings and whitelists."""
    session = Session.from_options(options)
    policy = read_kms_policy(session.reader, session.require_kms())
    emit(session.json_output, as_dict(policy), lambda c: c.print(key_value_table(_kms_rows(policy))))


@info.command("app")
@click.argument("app_id")
@chain_options
def info_app(app_id: str, **options: Any) -> None:
    """Show one app's settings and whitelists."""
    address = parse_address(app_id, "APP_ID")
    session = Session.from_options(options)
    policy = read_app_policy(session.reader, address)
    emit(session.json_output, as_dict(policy), lambda c: c.print(key_value_table(_app_rows(policy))))


@info.command("gateway")
@chain_options
def info_gateway(**options: Any) -> None:
    """Show the gateway app id and, when it is an app contract, that app."""
    session = Session.from_options(options)
    kms = session.require_kms()
    session.reader.require_code(kms, "KMS")
    gateway = session.reader.read(Group.KMS, kms, "gatewayAppId")
    payload: dict[str, Any] = {"gatewayAppId": gateway, "app": None}
    if gateway and Web3.is_address(gateway if gateway.startswith("0x") else "0x" + gateway):
        address = Web3.to_checksum_address(gateway if gateway.startswith("0x") else "0x" + gateway)
        if session.reader.has_code(address):
            payload["app"] = as_dict(read_app_policy(session.reader, address))

    def human(console: Console) -> None:
        console.print(key_value_table([("gateway app id", gateway or "- (not set)")]))
        if payload["app"]:
            console.print(key_value_table(_app_rows(read_app_policy(session.reader, address)), title="gateway app"))

    emit(session.json_output, payload, human)


def load_boot_info(path: Path) -> BootAuthRequest:
    """Read a boot info in the webhook's JSON request format."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BODY_BYTES + 1)  # bounded: the path may name a device or a huge file
    except OSError as exc:
        raise InvalidInput(f"boot info {path}: {exc.strerror or 'cannot read'}") from None
    try:
        raw = loads_json(data, max_bytes=MAX_BODY_BYTES)
    except ParseError as exc:
        raise InvalidInput(f"boot info {path}: {exc.reason}") from None
    try:
        return BootAuthRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"boot info {path}: {where}: {first['msg']}") from None


def boot_info_tuple(request: BootAuthRequest, abi_input: dict[str, Any]) -> tuple[Any, ...]:
    """Return the struct tuple in the ABI's member order."""
    values = []
    for component in abi_input["components"]:
        value = request.member(component["name"])
        values.append(Web3.to_checksum_address(value) if component["type"] == "address" else value)  # type: ignore[arg-type]
    return tuple(values)


@click.command("check")
@click.argument("kind", type=click.Choice(["app", "kms"]))
@click.option("--boot-info", "boot_info", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A boot info in the webhook's JSON request format.")  # fmt: skip
@chain_options
def check(kind: str, boot_info: Path, **options: Any) -> None:
    """Ask the KMS contract whether an app (or a KMS) with this boot info may boot.

    Exit status: 0 allowed, 3 denied (the verdict is printed either way, as JSON with --json),
    2 bad input, 1 chain error.
    """
    request = load_boot_info(boot_info)
    session = Session.from_options(options)
    kms = session.require_kms()
    session.reader.require_code(kms, "KMS")
    contract = session.reader.contract(Group.KMS, kms)
    function = contract.functions.isAppAllowed if kind == "app" else contract.functions.isKmsAllowed
    entry: Any = next(i for i in contract.abi if i.get("name") == function.fn_name)
    abi_input = entry["inputs"][0]
    with translate_chain_errors(f"check {kind}"):
        allowed, reason = function(boot_info_tuple(request, abi_input)).call()

    def human(console: Console) -> None:
        if allowed:
            console.print(f"[green]allowed[/]: this {kind} may boot")
        else:
            console.print(f"[red]not allowed[/]: {escape(reason)}")

    emit(session.json_output, {"isAllowed": bool(allowed), "reason": reason}, human)
    if not allowed:
        raise click.exceptions.Exit(EXIT_DENIED)
