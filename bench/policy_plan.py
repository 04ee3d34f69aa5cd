"""Time `dstack-gov policy plan` on a KMS with 50 apps and 2,000 whitelist entries, and count its RPC requests.

A fresh anvil gets a KMS owned by a dev key, 50 apps created through its factory, 1,000 OS images and 20
compose hashes per app (a few removed again, so the events hold more than the state). The policy file is
the export with one image added, one removed and one app's hashes changed. `policy plan` runs in process
(as the CLI runs it, after one warm-up) with its RPC URL pointed at a loopback counting proxy
(bench/rpc_count.py): a JSON-RPC batch counts as one request.

Measured twice more to show what the requests grow with: the same chain read in log chunks a tenth the
size (more chunks), and a chain with a tenth of the entries read with the default chunk.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from eth_typing import ChecksumAddress
from web3 import Web3

from bench.rpc_count import CountingProxy
from contracts import TransactionSender, deploy_kms, kms_contract
from contracts.deployment import deploy_implementation
from dstack_gov.anvil import Anvil, free_port
from dstack_gov.cli import main
from dstack_gov.devnet import dev_account
from proposals.catalogue import get_action

APPS = 50
IMAGES = 1_000
HASHES_PER_APP = 20
REMOVED = 25  # images added and removed again: events the reader replays but the state no longer holds
DEFAULT_CHUNK = 5_000


def h(n: int) -> str:
    """Return a distinct 32-byte value as 0x-hex."""
    return "0x" + n.to_bytes(32, "big").hex()


class Filler:
    """Sends transactions from an anvil dev account without waiting for each (anvil mines each at once)."""

    def __init__(self, w3: Web3, sender: ChecksumAddress) -> None:
        self.w3 = w3
        self.sender = sender
        self.nonce = int(w3.eth.get_transaction_count(sender))
        self.last = b""

    def send(self, to: ChecksumAddress, calldata: bytes, gas: int = 300_000) -> None:
        """Send one call; the dev account is unlocked in anvil."""
        tx = {"from": self.sender, "to": to, "data": calldata, "gas": gas, "nonce": self.nonce,
              "gasPrice": 10**9, "chainId": 1337}  # fmt: skip
        self.last = bytes(self.w3.eth.send_transaction(tx))  # type: ignore[arg-type]
        self.nonce += 1

    def wait(self) -> None:
        """Wait for the last transaction and check it succeeded."""
        assert self.w3.eth.wait_for_transaction_receipt(self.last, timeout=120)["status"] == 1  # type: ignore[arg-type]


def build(w3: Web3, images: int, hashes_per_app: int) -> tuple[ChecksumAddress, list[ChecksumAddress]]:
    """Deploy a key-owned KMS with APPS apps and fill the whitelists; return the KMS and the apps."""
    owner = dev_account(0)
    sender = TransactionSender(w3, owner)
    app_impl = deploy_implementation(sender, "DstackApp").contract_address
    assert app_impl is not None
    kms = deploy_kms(sender, owner.address, app_impl).proxy
    filler = Filler(w3, owner.address)
    create = get_action("kms-create-app")
    for index in range(APPS):
        values = create.parse({"initialOwner": owner.address, "initialComposeHash": h(10_000 + index * 100)})
        filler.send(kms, create.encode(values), gas=1_500_000)
    add_image, remove_image = get_action("kms-add-image"), get_action("kms-remove-image")
    for n in range(images):
        filler.send(kms, add_image.encode({"osImageHash": bytes.fromhex(h(n + 1)[2:])}))
    for n in range(min(REMOVED, images)):
        filler.send(kms, remove_image.encode({"osImageHash": bytes.fromhex(h(n + 1)[2:])}))
    filler.wait()
    logs = kms_contract(w3, kms).events.AppRegistered.get_logs(from_block=0)
    apps = [Web3.to_checksum_address(entry["args"]["appId"]) for entry in logs]
    add_hash = get_action("app-add-hash")
    for index, app in enumerate(apps):
        for k in range(1, hashes_per_app):
            filler.send(app, add_hash.encode({"composeHash": bytes.fromhex(h(10_000 + index * 100 + k)[2:])}))
    filler.wait()
    return kms, apps


def write_config(directory: Path, rpc_url: str, kms: ChecksumAddress, chunk: int) -> Path:
    """Write a config for the plan: the RPC (the proxy), the KMS, a placeholder Safe, a SQLite store."""
    path = directory / f"dstack-gov-{chunk}.toml"
    path.write_text(
        f'[chain]\nrpc_url = "{rpc_url}"\nchain_id = 1337\nlog_chunk_blocks = {chunk}\n\n'
        f'[contracts]\nkms = "{kms}"\n\n[[safes]]\naddress = "{dev_account(0).address}"\n\n'
        f'[database]\nurl = "sqlite:///{directory / "gov.sqlite"}"\n'
    )
    return path


def run(args: list[str]) -> tuple[int, str]:
    """Run the CLI in process; return its exit code and stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


def edited_policy(config: Path, apps: list[ChecksumAddress], directory: Path) -> Path:
    """Export the policy, then add an image, remove one and change one app's hashes."""
    code, text = run(["policy", "export", "--config", str(config)])
    assert code == 0, text
    policy = yaml.safe_load(text)
    policy["osImages"] = [*policy["osImages"][1:], h(999_999)]
    policy["apps"][apps[0]]["composeHashes"] = [h(888_888)]
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def measure(proxy: CountingProxy, config: Path, policy: Path) -> tuple[float, int, Counter[str], int]:
    """Run `policy plan` once; return wall seconds, requests, methods and the number of changes."""
    proxy.tally.take()
    start = time.perf_counter()
    code, out = run(["policy", "plan", str(policy), "--config", str(config), "--json"])
    elapsed = time.perf_counter() - start
    requests, methods = proxy.tally.take()
    assert code == 4, out  # changes pending
    return elapsed, requests, methods, int(yaml.safe_load(out)["changes"])


Row = tuple[int, int, float, int, Counter[str], int, int]


def scenario(images: int, hashes: int, chunks: list[int]) -> list[Row]:
    """Build a chain and plan at each chunk size: (entries, chunk, s, requests, methods, changes, blocks) each."""
    rows: list[Row] = []
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory(prefix="dstack-gov-policy-") as tmp:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))
        kms, apps = build(w3, images, hashes)
        entries = images - min(REMOVED, images) + APPS * hashes
        blocks = int(w3.eth.block_number)
        with CountingProxy(anvil.url) as proxy:
            directory = Path(tmp)
            policy = edited_policy(write_config(directory, proxy.url, kms, DEFAULT_CHUNK), apps, directory)
            for chunk in chunks:
                config = write_config(directory, proxy.url, kms, chunk)
                measure(proxy, config, policy)  # warm-up: imports, connection pools
                seconds, requests, methods, changes = measure(proxy, config, policy)
                rows.append((entries, chunk, seconds, requests, methods, changes, blocks))
    return rows


def main_bench() -> int:
    """Print wall time and RPC requests of `policy plan` for each scenario."""
    rows = scenario(IMAGES, HASHES_PER_APP, [DEFAULT_CHUNK, DEFAULT_CHUNK // 10])
    rows += scenario(IMAGES // 10, HASHES_PER_APP // 10, [DEFAULT_CHUNK])
    print(f"`dstack-gov policy plan` on a KMS with {APPS} apps (in process, after a warm-up run)")
    print(f"  {'entries':>7} {'blocks':>6} {'chunk':>6} {'chunks':>6} {'wall':>8} {'requests':>8}  changes  methods")
    for entries, chunk, seconds, requests, methods, changes, blocks in rows:
        listed = ", ".join(f"{m} x{n}" for m, n in sorted(methods.items()))
        chunks = -(-blocks // chunk)
        print(
            f"  {entries:>7} {blocks:>6} {chunk:>6} {chunks:>6} {seconds:>7.2f}s {requests:>8}  {changes:>7}  {listed}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
