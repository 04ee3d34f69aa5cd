"""`dstack-gov devnet`: a local chain with a Safe that owns a DstackKms and an app."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dstack_gov.anvil import Anvil, rpc_ready
from dstack_gov.cli.output import emit, key_value_table
from dstack_gov.devnet import Devnet, DevnetOptions, build_devnet


def render_devnet(devnet: Devnet, console: Console) -> None:
    """Print what the devnet holds; keys are flagged as dev-only."""
    verb = "found (re-used)" if devnet.reused else "deployed"
    console.print(f"[green]✓[/] devnet ready: KMS {verb}, config written to {devnet.config_path}")
    rows: list[tuple[str, Any]] = [
        ("RPC", devnet.rpc_url),
        ("chain id", devnet.chain_id),
        ("Safe", f"{devnet.safe} ({devnet.threshold} of {len(devnet.owners)})"),
        ("KMS", devnet.kms),
        (
            "KMS owner",
            devnet.kms_owner + (" (the Safe)" if devnet.kms_owner == devnet.safe else " (a dev key)"),
        ),
        ("app implementation", devnet.app_implementation),
        ("app", devnet.app),
        ("MultiSendCallOnly", devnet.infra.multi_send_call_only),
    ]
    console.print(key_value_table(rows))
    console.print("[bold red]DEV ONLY[/] - anvil's public test keys; never use them on a real chain:")
    keys = [(f"owner {i + 1}", f"{o.address}  {'0x' + o.key.hex()}") for i, o in enumerate(devnet.owners)]
    keys.append(("executor", f"{devnet.executor.address}  {'0x' + devnet.executor.key.hex()}"))
    keys.append(("deployer", f"{devnet.deployer.address}  {'0x' + devnet.deployer.key.hex()}"))
    console.print(key_value_table(keys))


def _wait_for_stop() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


@click.command("devnet")
@click.option("--rpc-url", help="Use this node instead of starting anvil (it must have chain id 1337).")
@click.option("--port", default=8545, show_default=True, help="Port for the anvil it starts (127.0.0.1).")
@click.option("--owners", default=3, show_default=True, help="Number of dev owners of the Safe.")
@click.option("--threshold", default=2, show_default=True, help="Signatures the Safe needs.")
@click.option("--key-owned", is_flag=True, help="Let a dev key own the KMS and app instead of the Safe.")
@click.option("--config-out", type=click.Path(path_type=Path, dir_okay=False), default=Path("dstack-gov.toml"),
              show_default=True, help="Where to write the config file.")  # fmt: skip
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("devnet"),
              show_default=True, help="Where anvil's state and the dev key files go.")  # fmt: skip
@click.option("--no-wait", is_flag=True, help="Exit after setting up (stops the anvil it started).")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object.")
def devnet(
    rpc_url: str | None, port: int, owners: int, threshold: int, key_owned: bool, config_out: Path,
    state_dir: Path, no_wait: bool, json_output: bool,
) -> None:  # fmt: skip
    """Start anvil (or use --rpc-url), deploy the Safe contracts, a Safe, a KMS and an app; write the config."""
    if not 1 <= threshold <= owners <= 8:
        raise click.BadParameter("need 1 <= threshold <= owners <= 8", param_hint="--threshold/--owners")
    node: Anvil | None = None
    if rpc_url is None:
        url = f"http://127.0.0.1:{port}"
        if rpc_ready(url):
            raise click.ClickException(f"something already answers on {url}: pass --rpc-url {url} to use it")
        state_dir.mkdir(parents=True, exist_ok=True)
        node = Anvil(port, state_path=state_dir / "anvil-state.json").start()
        rpc_url = node.url
    try:
        built = build_devnet(
            DevnetOptions(rpc_url, owners, threshold, key_owned, config_path=config_out, state_dir=state_dir)
        )
        emit(json_output, built.as_dict(), lambda console: render_devnet(built, console))
        if node is not None and not no_wait:
            if not json_output:
                Console(stderr=True).print(f"anvil runs on {node.url}; press Ctrl-C to stop it (state is kept)")
            _wait_for_stop()
    finally:
        if node is not None:
            node.stop()
