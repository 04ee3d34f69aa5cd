"""`safe create`: deploy a Safe (v1.4.1 or v1.3.0) on a chain that has the canonical Safe contracts."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from dstack_gov.cli.output import emit, key_value_table
from dstack_gov.cli.session import Session, chain_options, key_options
from dstack_gov.safe_infra import CANONICAL_INFRA, create_safe
from proposals.catalogue import parse_address
from proposals.chain import connect_client
from proposals.errors import InvalidInput


@click.command("create")
@click.option("--owner", "owners", multiple=True, required=True, help="An owner address (repeat for each).")
@click.option("--threshold", type=click.IntRange(1), required=True, help="Signatures needed.")
@click.option("--salt", type=click.IntRange(0), help="Salt nonce for a predictable address (CREATE2).")
@click.option("--safe-version", type=click.Choice(["1.4.1", "1.3.0"]), default="1.4.1", show_default=True)
@chain_options
@key_options
def safe_create(owners: tuple[str, ...], threshold: int, salt: int | None, safe_version: str, **options: Any) -> None:
    """Create a Safe with these owners and threshold (the key only pays for the deployment)."""
    addresses = [parse_address(o, "--owner") for o in owners]
    if len({a.lower() for a in addresses}) != len(addresses):
        raise InvalidInput("--owner: the same owner is listed twice")
    if threshold > len(addresses):
        raise InvalidInput(f"--threshold {threshold} is more than the {len(addresses)} owner(s)")
    session = Session.from_options(options)
    account = session.account
    client = connect_client(session.rpc_urls, expected_chain_id=session.config.chain.chain_id)
    infra = CANONICAL_INFRA
    singleton = infra.singleton if safe_version == "1.4.1" else infra.singleton_v130
    if not client.w3.eth.get_code(singleton):
        raise InvalidInput(f"the Safe {safe_version} contracts are not deployed on this chain (no code at {singleton})")
    safe = create_safe(client, account, infra, addresses, threshold, version=safe_version, salt_nonce=salt)
    payload = {"safe": safe, "owners": addresses, "threshold": threshold, "version": safe_version}

    def human(console: Console) -> None:
        console.print(f"[green]✓[/] Safe {safe_version} created")
        console.print(key_value_table([("Safe", safe), ("owners", ", ".join(addresses)),
                                       ("threshold", f"{threshold} of {len(addresses)}")]))  # fmt: skip
        console.print("add it to the config as a [[safes]] entry to propose through it")

    emit(session.json_output, payload, human)
