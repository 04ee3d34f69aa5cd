"""`dstack-gov demo`: a devnet, then the dstack admin guide's sequence in direct mode."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.cli.devnet import render_devnet
from dstack_gov.cli.info import EXIT_DENIED
from dstack_gov.devnet import DevnetOptions, build_devnet

console = Console(highlight=False)
# Demo values: an OS image, a compose hash, a device and a KMS measurement.
OS_IMAGE = "0x" + "0a" * 32
COMPOSE_HASH = "0x" + "c0" * 32


def _run(args: list[str], workdir: Path, *, parse_json: bool = False, ok: tuple[int, ...] = (0,)) -> Any:
    """Run one dstack-gov command as a user would, show it, and stop the demo if it fails."""
    console.print(f"\n[bold cyan]$ dstack-gov {shlex.join(args)}[/]")
    result = subprocess.run(
        [sys.executable, "-m", "dstack_gov", *args], cwd=workdir, capture_output=True, text=True, check=False
    )
    output = result.stdout.strip()
    if parse_json and result.returncode in ok:
        console.print_json(output)
    elif output:
        print(output)
    if result.stderr.strip():
        print(result.stderr.strip(), file=sys.stderr)
    if result.returncode not in ok:
        raise click.ClickException(f"demo step failed: dstack-gov {args[0]} {args[1] if len(args) > 1 else ''}")
    return json.loads(output) if parse_json else output


def run_guide(workdir: Path) -> bool:
    """Run deploy, add image, create app, set gateway, add hash, then check the app; return allowed."""
    kms = _run(["kms", "deploy", "--with-app-impl", "--json"], workdir, parse_json=True)["kms"]
    _run(["kms", "add-image", OS_IMAGE, "--kms", kms], workdir)
    app = _run(["kms", "create-app", "--allow-any-device", "--kms", kms, "--json"], workdir, parse_json=True)
    app_id = app["appId"]
    _run(["kms", "set-gateway", app_id, "--kms", kms], workdir)
    _run(["app", "add-hash", "--app-id", app_id, COMPOSE_HASH, "--kms", kms], workdir)
    boot_info = {
        "appId": app_id,
        "composeHash": COMPOSE_HASH,
        "instanceId": "0x" + "11" * 20,
        "deviceId": "0x" + "de" * 32,
        "mrAggregated": "0x" + "aa" * 32,
        "osImageHash": OS_IMAGE,
        "tcbStatus": "UpToDate",
        "advisoryIds": [],
    }
    (workdir / "boot-info.json").write_text(json.dumps(boot_info, indent=2))
    _run(["info", "app", app_id, "--kms", kms], workdir)
    verdict = _run(["check", "app", "--boot-info", "boot-info.json", "--kms", kms, "--json"], workdir,
                   parse_json=True, ok=(0, EXIT_DENIED))  # fmt: skip
    return bool(verdict["isAllowed"])


def run_safe_flow(workdir: Path, owner_keys: list[str]) -> bool:
    """Propose a change to the Safe-owned KMS, let two owners sign, and watch it execute on quorum."""
    image = "0x" + "5a" * 32
    filed = _run(["kms", "add-image", image, "--title", "Allow the demo OS image", "--json"], workdir,
                 parse_json=True)  # fmt: skip
    pid = str(filed["id"])
    _run(["export", pid, "--typed-data", "-o", "typed-data.json"], workdir)
    _run(["sign", pid, "--private-key", owner_keys[0]], workdir)
    signed = _run(["sign", pid, "--private-key", owner_keys[1], "--json"], workdir, parse_json=True)
    _run(["audit", "--proposal", pid], workdir)
    return bool(signed["state"] == "executed")


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Where to put the demo config and state (default: a temporary directory).")  # fmt: skip
def demo(workdir: Path | None) -> None:
    """Start a devnet and walk through the dstack admin guide against it."""
    with tempfile.TemporaryDirectory(prefix="dstack-gov-demo-") as tmp:
        root = workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        with Anvil(free_port()) as node:
            console.rule("devnet")
            built = build_devnet(
                DevnetOptions(node.url, config_path=root / "dstack-gov.toml", state_dir=root / "devnet")
            )
            render_devnet(built, console)
            console.rule("the dstack admin guide, in direct mode (a dev key owns this second KMS)")
            allowed = run_guide(root)
            console.rule(f"governance: the devnet KMS is owned by a {built.threshold}-of-{len(built.owners)} Safe")
            executed = run_safe_flow(root, ["0x" + o.key.hex() for o in built.owners])
        console.rule()
        if not allowed:
            raise click.ClickException("the app is not allowed to boot; the demo failed")
        if not executed:
            raise click.ClickException("the Safe proposal did not execute on quorum; the demo failed")
        console.print("[bold green]demo complete:[/] check app says allowed, and the Safe proposal executed on quorum")
