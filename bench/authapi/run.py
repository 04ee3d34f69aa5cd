"""Bench the boot-auth webhook: ours (cache off and on), a fair web3.py baseline, and the node's own ceiling.

Everything runs on loopback, each part in its own process: anvil, the servers (uvicorn with uvloop
and httptools), and the load generator (load.py). The node's ceiling is the same load generator
POSTing our exact JSON-RPC batch (the boot check and gatewayAppId) straight to anvil. Each cell is
bounded in time; the whole run takes about two minutes.
Each cell is the median of ROUNDS rounds, the targets taking turns within each round, so a burst of
background load on this shared machine hits all of them alike instead of skewing one cell.
Usage: PYTHONPATH=. .venv/bin/python bench/authapi/run.py [--seconds 3] [--rounds 3]
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

from authapi.contract import KmsCalls
from authapi.jsonrpc import encode_batch, eth_call
from authapi.request import BootAuthRequest
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
HEAD_POLL_INTERVAL = 0.5
# Upstream's Node.js auth-eth, measured side by side with ours on one anvil elsewhere (wrk, 15 s per
# level): req/s, p50 ms, p99 ms. Its code cannot be fetched here, so these are for reference only.
UPSTREAM_REFERENCE = {1: (35, 28.0, 37.0), 16: (438, 36.0, 57.0), 64: (392, 159.0, 234.0)}
NODE = "node (anvil)"


@dataclass(frozen=True)
class Server:
    """One server under test: ours runs as `dstack-gov authapi` does in production; others by uvicorn factory."""

    name: str
    factory: str | None = None
    block_cache: bool = False


SERVERS = (
    Server("ours"),
    Server("ours+cache", block_cache=True),
    Server("baseline", "baseline:create_baseline_app"),
)
TARGETS = (*(s.name for s in SERVERS), NODE)


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
    """Start `server` in its own process; yield its port; stop it (by PID) afterwards."""
    port = free_port()
    config = workdir / f"{server.name}.toml"
    cache = "true" if server.block_cache else "false"
    config.write_text(f"[authapi]\nblock_cache = {cache}\nhead_poll_interval = {HEAD_POLL_INTERVAL}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSTACK_GOV_")}
    env.update(ETH_RPC_URL=rpc_url, KMS_CONTRACT_ADDR=kms, DSTACK_GOV_CONFIG=str(config))
    if server.factory is None:
        # The production entry point: uvicorn as foundation.serving configures it (uvloop, httptools).
        command = [str(Path(sys.executable).with_name("dstack-gov")), "authapi", "--host", "127.0.0.1",
                   "--port", str(port)]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "uvicorn", server.factory, "--factory", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
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


def node_batches(kms: str, bodies: list[dict[str, object]]) -> list[object]:
    """Return, for each body, the exact JSON-RPC batch ours POSTs to the node for it."""
    calls = KmsCalls.from_abi()
    gateway = calls.gateway_app_id.calldata()
    batches = []
    for body in bodies:
        check = calls.boot_calldata(False, BootAuthRequest.model_validate(body))
        batches.append(json.loads(encode_batch([eth_call(kms, check), eth_call(kms, gateway)], 1)))
    return batches


def measure(port: int, bodies: Path, concurrency: int, seconds: float, path: str, expect: str) -> dict[str, float]:
    """Run load.py in its own process against `port`; return its summary."""
    command = [
        sys.executable, str(HERE / "load.py"), "--port", str(port), "--bodies", str(bodies), "--path", path,
        "--expect", expect, "--concurrency", str(concurrency), "--requests", "1000000", "--seconds", str(seconds),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=True, timeout=seconds * 2 + 60)
    return dict(json.loads(done.stdout))


def median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Return the round with the median throughput (its latencies with it), the requests of all rounds summed."""
    chosen = dict(sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2])
    chosen["requests"] = sum(r["requests"] for r in rounds)
    chosen["failures"] = sum(r["failures"] for r in rounds)
    chosen["denied"] = sum(r["denied"] for r in rounds)
    return chosen


def render(results: dict[tuple[str, int], dict[str, float]]) -> str:
    """Return the results table, then the ratios measured in this run and the upstream reference."""
    lines = [
        f"{'target':<13} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of node':>8} "
        f"{'requests':>8} {'errors':>6}",
    ]
    for concurrency in CONCURRENCY:
        node = results[(NODE, concurrency)]
        for target in TARGETS:
            r = results[(target, concurrency)]
            errors = int(r["failures"] + r["denied"])
            lines.append(
                f"{target:<13} {concurrency:>4} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                f"{r['rps'] / node['rps']:>7.0%} {int(r['requests']):>8} {errors:>6}"
            )
        rps, p50, p99 = UPSTREAM_REFERENCE[concurrency]
        lines.append(
            f"{'(upstream)':<13} {concurrency:>4} {rps:>8} {p50:>8.2f} {p99:>8.2f}   (reference, not run here)"
        )
    lines += ["", f"{'ours vs':<22} {'conc':>4} {'req/s':>8} {'p50':>8} {'p99':>8}   (ratios from this run)"]
    for name in ("ours", "ours+cache"):
        for versus in ("baseline", NODE):
            for concurrency in CONCURRENCY:
                ours, other = results[(name, concurrency)], results[(versus, concurrency)]
                lines.append(
                    f"{name + ' / ' + versus:<22} {concurrency:>4} {ours['rps'] / other['rps']:>7.2f}x "
                    f"{ours['p50_ms'] / other['p50_ms']:>7.2f}x {ours['p99_ms'] / other['p99_ms']:>7.2f}x"
                )
    return "\n".join(lines)


def main() -> None:
    """Deploy, start the servers, measure every cell, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time bound of each round of a cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per cell; the median round is reported")
    args = parser.parse_args()
    results: dict[tuple[str, int], dict[str, float]] = {}
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        workdir = Path(tmp)
        kms, app = deploy_policy(anvil.url)
        bodies = request_bodies(app)
        (workdir / "bodies.json").write_text(json.dumps(bodies))
        (workdir / "batches.json").write_text(json.dumps(node_batches(kms, bodies)))
        ports = {s.name: servers.enter_context(running(s, anvil.url, kms, workdir)) for s in SERVERS}
        for port in ports.values():
            wait_ready(port, bodies[0])
        how = {name: (ports[name], "bodies.json", "/bootAuth/app", '"isAllowed":true') for name in ports}
        how[NODE] = (anvil.port, "batches.json", "/", '"result"')
        # Interleaved (each concurrency, every target in turn) so background load hits all alike.
        for concurrency in CONCURRENCY:
            rounds: dict[str, list[dict[str, float]]] = {target: [] for target in TARGETS}
            for _ in range(args.rounds):
                for target in TARGETS:
                    port, bodies_file, path, expect = how[target]
                    result = measure(port, workdir / bodies_file, concurrency, args.seconds, path, expect)
                    rounds[target].append(result)
                    print(f"  {target} c={concurrency}: {result}", file=sys.stderr)
            for target, results_of_target in rounds.items():
                results[(target, concurrency)] = median_round(results_of_target)
    print(f"authapi bench: POST /bootAuth/app, {DISTINCT_BODIES} distinct allowed bodies, loopback, "
          f"{os.cpu_count()} CPUs, anvil automine (no new blocks during the run), median of {args.rounds} rounds "
          f"of {args.seconds:g} s per cell; "
          f"the cache polls the head every {HEAD_POLL_INTERVAL} s")  # fmt: skip
    print(render(results))
    print("upstream: Node.js auth-eth cannot be run here (its code is not available offline); its figures were "
          "measured elsewhere with wrk and are for reference only.")  # fmt: skip


if __name__ == "__main__":
    main()
