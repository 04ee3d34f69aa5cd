"""Bench the boot-auth webhook against a naive baseline: req/s and p50/p99 at concurrency 1, 16 and 64.

Everything runs on loopback, each part in its own process: anvil, the servers (uvicorn with uvloop
and httptools), and the load generator (load.py). Each cell is bounded in requests and in time.
Usage: .venv/bin/python bench/authapi/run.py [--seconds 5] [--requests 4000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import (
    AppSettings,
    TransactionSender,
    deploy_app,
    deploy_implementation,
    deploy_kms,
    kms_contract,
)
from dstack_gov.anvil import Anvil, free_port
from tests.helpers.processes import stop

HERE = Path(__file__).resolve().parent
# anvil's first dev key: public, funded on every local anvil chain, worthless elsewhere.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OS_IMAGE = b"\x0a" * 32
COMPOSE_HASH = b"\xc0" * 32
GATEWAY_APP_ID = "bench-gateway"
CONCURRENCY = (1, 16, 64)
DISTINCT_BODIES = 64
# The Node.js implementation, measured elsewhere on a 2-core machine (for context, not a ratio).
NODE_REFERENCE = {1: (42, 23), 16: (575, 27), 64: (1100, 60)}


@dataclass(frozen=True)
class Server:
    """One server under test: how uvicorn finds it and what configures it."""

    name: str
    factory: str
    block_cache: bool = False


SERVERS = (
    Server("ours", "dstack_gov.webhook:create_app_from_env"),
    Server("ours+block-cache", "dstack_gov.webhook:create_app_from_env", block_cache=True),
    Server("baseline", "baseline:create_baseline_app"),
)


def deploy_policy(url: str) -> tuple[ChecksumAddress, ChecksumAddress]:
    """Deploy a KMS and one app that allows COMPOSE_HASH on any device; return (kms, app)."""
    w3 = Web3(Web3.HTTPProvider(url))
    account = Account.from_key(DEV_KEY)
    sender = TransactionSender(w3, account)
    app_impl = deploy_implementation(sender, "DstackApp").contract_address
    assert app_impl is not None
    kms = deploy_kms(sender, account.address, app_impl).proxy
    settings = AppSettings(owner=account.address, allow_any_device=True, initial_compose_hash=COMPOSE_HASH)
    app = deploy_app(sender, app_impl, settings).proxy
    contract = kms_contract(w3, kms)
    for function, args in (
        ("registerApp", [app]),
        ("addOsImageHash", [OS_IMAGE]),
        ("setGatewayAppId", [GATEWAY_APP_ID]),
    ):
        sender.send(kms, bytes.fromhex(contract.encode_abi(function, args)[2:]))
    return kms, app


def request_bodies(app: str) -> list[dict[str, object]]:
    """Return distinct allowed /bootAuth/app bodies (one instance id each), as the KMS would send."""
    return [
        {
            "mrAggregated": "0x" + "4d" * 32,
            "osImageHash": "0x" + OS_IMAGE.hex(),
            "appId": app,
            "composeHash": "0x" + COMPOSE_HASH.hex(),
            "instanceId": f"0x{i + 1:040x}",
            "deviceId": "0x" + "d1" * 32,
            "tcbStatus": "UpToDate",
            "advisoryIds": ["INTEL-SA-00828"],
            "mrSystem": "0x" + "5e" * 32,
        }
        for i in range(DISTINCT_BODIES)
    ]


@contextmanager
def running(server: Server, rpc_url: str, kms: str, workdir: Path) -> Iterator[int]:
    """Start `server` under uvicorn in its own process; yield its port; stop it (by PID) afterwards."""
    port = free_port()
    config = workdir / f"{server.name}.toml"
    config.write_text(f"[authapi]\nblock_cache = {'true' if server.block_cache else 'false'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSTACK_GOV_")}
    env.update(ETH_RPC_URL=rpc_url, KMS_CONTRACT_ADDR=kms, DSTACK_GOV_CONFIG=str(config))
    command = [
        sys.executable, "-m", "uvicorn", server.factory, "--factory", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=workdir)
    try:
        yield port
    finally:
        stop(process)


def wait_ready(port: int, body: dict[str, object], timeout: float = 30.0) -> None:
    """Wait until the server allows `body`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/bootAuth/app", json=body, timeout=2)
            if response.status_code == 200 and response.json().get("isAllowed") is True:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not become ready")


def measure(port: int, bodies: Path, concurrency: int, requests: int, seconds: float) -> dict[str, float]:
    """Run load.py in its own process against `port`; return its summary."""
    command = [
        sys.executable, str(HERE / "load.py"), "--port", str(port), "--bodies", str(bodies),
        "--concurrency", str(concurrency), "--requests", str(requests), "--seconds", str(seconds),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, timeout=seconds * 2 + 60)
    return dict(json.loads(done.stdout))


def render(results: dict[tuple[str, int], dict[str, float]]) -> str:
    """Return the results table, then the ratios ours/baseline against the targets."""
    lines = [
        f"{'server':<18} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>8} {'errors':>6}",
    ]
    for concurrency in CONCURRENCY:
        for server in SERVERS:
            r = results[(server.name, concurrency)]
            errors = int(r["failures"] + r["denied"])
            lines.append(
                f"{server.name:<18} {concurrency:>4} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{int(r['requests']):>8} {errors:>6}"
            )
        node_rps, node_p50 = NODE_REFERENCE[concurrency]
        lines.append(f"{'(Node.js ref.)':<18} {concurrency:>4} {node_rps:>8} {node_p50:>8.2f} {'':>8} {'':>8} {'':>6}")
    lines += [
        "",
        f"{'ratio ours/baseline':<22} {'conc':>4} {'req/s':>8} {'p50':>8} {'p99':>8}   "
        "targets: req/s >= 2x, p50 <= 0.5x",
    ]
    for name in ("ours", "ours+block-cache"):
        for concurrency in CONCURRENCY:
            ours, base = results[(name, concurrency)], results[("baseline", concurrency)]
            throughput = ours["rps"] / base["rps"]
            p50, p99 = ours["p50_ms"] / base["p50_ms"], ours["p99_ms"] / base["p99_ms"]
            verdict = "met" if throughput >= 2 and p50 <= 0.5 else "NOT met"
            lines.append(f"{name:<22} {concurrency:>4} {throughput:>7.2f}x {p50:>7.2f}x {p99:>7.2f}x   {verdict}")
    return "\n".join(lines)


def main() -> None:
    """Deploy, start the servers, measure every cell, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound of each cell")
    parser.add_argument("--requests", type=int, default=4000, help="request bound of each cell")
    args = parser.parse_args()
    results: dict[tuple[str, int], dict[str, float]] = {}
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        workdir = Path(tmp)
        kms, app = deploy_policy(anvil.url)
        bodies = request_bodies(app)
        bodies_file = workdir / "bodies.json"
        bodies_file.write_text(json.dumps(bodies))
        ports = {s.name: servers.enter_context(running(s, anvil.url, kms, workdir)) for s in SERVERS}
        for port in ports.values():
            wait_ready(port, bodies[0])
        # Interleaved (each concurrency, every server in turn) so background load hits all alike.
        for concurrency in CONCURRENCY:
            for server in SERVERS:
                result = measure(ports[server.name], bodies_file, concurrency, args.requests, args.seconds)
                results[(server.name, concurrency)] = result
                print(f"  {server.name} c={concurrency}: {result}", file=sys.stderr)
    print(f"authapi bench: POST /bootAuth/app, {DISTINCT_BODIES} distinct allowed bodies, loopback, "
          f"{os.cpu_count()} CPUs, anvil automine (no new blocks during the run)")  # fmt: skip
    print(render(results))


if __name__ == "__main__":
    main()
