"""`kms deploy` and `app deploy`: contract deployments, not governance actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console

from contracts import AppSettings, Receipt
from contracts.deployment import deploy_implementation
from dstack_gov.cli.output import emit, key_value_table
from dstack_gov.cli.session import Session, chain_options, key_options
from proposals.catalogue import parse_address, parse_hex
from proposals.deploy import deploy_kms_stack, deploy_standalone_app

ZERO32 = b"\x00" * 32


def transactions_json(receipts: Sequence[Receipt]) -> list[dict[str, Any]]:
    """Return each deployment transaction's hash, block and gas."""
    return [{"txHash": r.tx_hash, "blockNumber": r.block_number, "gasUsed": r.gas_used} for r in receipts]


def transaction_rows(receipts: Sequence[Receipt]) -> list[tuple[str, Any]]:
    """Return table rows for each deployment transaction."""
    return [(f"tx {i + 1}", f"0x{r.tx_hash.hex()} block {r.block_number} gas {r.gas_used:,}")
            for i, r in enumerate(receipts)]  # fmt: skip


@click.command("deploy")
@click.option("--with-app-impl", is_flag=True, help="Also deploy a DstackApp implementation for the factory.")
@click.option("--app-implementation", help="Use an existing DstackApp implementation.")
@click.option("--owner", help="Initial owner (default: the signing key's address; may be a Safe).")
@chain_options
@key_options
def kms_deploy(with_app_impl: bool, app_implementation: str | None, owner: str | None, **options: Any) -> None:
    """Deploy DstackKms behind a UUPS proxy."""
    app_impl = parse_address(app_implementation, "--app-implementation") if app_implementation else None
    owner_address = parse_address(owner, "--owner") if owner else None
    session = Session.from_options(options)
    sender = session.sender()
    stack = deploy_kms_stack(
        sender,
        owner_address or sender.address,
        with_app_implementation=with_app_impl,
        app_implementation=app_impl,
    )
    payload = {
        "kms": stack.kms,
        "kmsImplementation": stack.kms_implementation,
        "appImplementation": stack.app_implementation,
        "owner": stack.owner,
        "transactions": transactions_json(stack.receipts),
    }

    def human(console: Console) -> None:
        console.print("[green]✓[/] DstackKms deployed")
        rows: list[tuple[str, Any]] = [
            ("KMS (proxy)", stack.kms),
            ("KMS implementation", stack.kms_implementation),
            (
                "app implementation",
                stack.app_implementation or "none (set it with kms set-app-implementation)",
            ),
            ("owner", stack.owner),
        ]
        rows += transaction_rows(stack.receipts)
        console.print(key_value_table(rows))

    emit(session.json_output, payload, human)


@click.command("deploy")
@click.option("--implementation", help="DstackApp implementation (default: the KMS's appImplementation()).")
@click.option("--owner", help="Initial owner (default: the signing key's address; may be a Safe).")
@click.option("--allow-any-device", is_flag=True, help="Let the app boot on any device.")
@click.option("--require-tcb-up-to-date", is_flag=True, help="Refuse boots whose TCB is not up to date.")
@click.option("--disable-upgrades", is_flag=True, help="Make the app not upgradeable, forever.")
@click.option("--device", help="A first allowed device id (bytes32).")
@click.option("--hash", "compose_hash", help="A first allowed compose hash (bytes32).")
@click.option("--register/--no-register", default=True, help="Register the app with the KMS (default: yes).")
@chain_options
@key_options
def app_deploy(
    implementation: str | None,
    owner: str | None,
    allow_any_device: bool,
    require_tcb_up_to_date: bool,
    disable_upgrades: bool,
    device: str | None,
    compose_hash: str | None,
    register: bool,
    **options: Any,
) -> None:
    """Deploy a DstackApp proxy directly (not via the KMS factory)."""
    impl = parse_address(implementation, "--implementation") if implementation else None
    owner_address = parse_address(owner, "--owner") if owner else None
    device_id = parse_hex(device, "--device", length=32) if device else ZERO32
    hash_value = parse_hex(compose_hash, "--hash", length=32) if compose_hash else ZERO32
    session = Session.from_options(options)
    sender = session.sender()
    settings = AppSettings(
        owner=owner_address or sender.address,
        disable_upgrades=disable_upgrades,
        require_tcb_up_to_date=require_tcb_up_to_date,
        allow_any_device=allow_any_device,
        initial_device_id=device_id,
        initial_compose_hash=hash_value,
    )
    app = deploy_standalone_app(sender, session.reader, settings, implementation=impl, register=register)
    payload = {
        "appId": app.app_id,
        "implementation": app.implementation,
        "owner": settings.owner,
        "registered": app.registered,
        "transactions": transactions_json(app.receipts),
    }

    def human(console: Console) -> None:
        console.print("[green]✓[/] DstackApp deployed" + (" and registered" if app.registered else ""))
        rows: list[tuple[str, Any]] = [("App ID", app.app_id), ("implementation", app.implementation),
                                       ("owner", settings.owner)]  # fmt: skip
        rows += transaction_rows(app.receipts)
        console.print(key_value_table(rows))

    emit(session.json_output, payload, human)


def implementation_command(contract: str, name: str) -> click.Command:
    """Build `kms deploy-impl` / `app deploy-impl`: deploy the bundled implementation for an upgrade."""

    @click.command("deploy-impl")
    @chain_options
    @key_options
    def deploy_impl(**options: Any) -> None:
        session = Session.from_options(options)
        receipt = deploy_implementation(session.sender(), contract)
        payload = {"implementation": receipt.contract_address, "txHash": receipt.tx_hash,
                   "blockNumber": receipt.block_number, "gasUsed": receipt.gas_used}  # fmt: skip

        def human(console: Console) -> None:
            console.print(f"[green]✓[/] {contract} implementation deployed at {receipt.contract_address}")
            console.print(f"next: dstack-gov {name} upgrade {receipt.contract_address}")

        emit(session.json_output, payload, human)

    deploy_impl.help = (f"Deploy the bundled {contract} implementation (its initialisers are locked); "
                        f"then `{name} upgrade <address>` points the proxy at it.")  # fmt: skip
    return deploy_impl
