"""Time a signature's trip through the API: from POSTing the threshold-meeting signature to its receipt.

Runs on a fresh anvil (automine) that it starts and stops itself. It builds the devnet (a 2-of-3
Safe owning a KMS and an app, the config file, the executor key), wires the service exactly as
`dstack-gov serve` does, serves the API with uvicorn on 127.0.0.1 in a background thread, and for
each of SAMPLES proposals: proposes over HTTP, posts the first owner's signature, then times the
POST of the second one (which executes inside the request) plus the receipt lookup. Prints the
median, p90 and max, and the median as a ratio to the 0.5 s target (below 1.00 is within target);
exits with status 1 when the median is over.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.api import ThreadedServer, create_api
from dstack_gov.config import load_config
from dstack_gov.devnet import Devnet, DevnetOptions, build_devnet
from dstack_gov.wiring import build_service

SAMPLES = 20
TARGET_SECONDS = 0.5
DEADLINE_SECONDS = 180.0
HTTP_TIMEOUT = 30.0
TOKEN = "bench-latency-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _signature(client: httpx.Client, proposal_id: int, owner: LocalAccount) -> dict[str, str]:
    typed = client.get(f"/api/proposals/{proposal_id}/typed-data").raise_for_status().json()
    return {"signature": "0x" + bytes(owner.sign_typed_data(full_message=typed).signature).hex()}


def _body(devnet: Devnet, index: int) -> dict[str, Any]:
    return {
        "title": f"Bench release {index}",
        "actions": [
            {"action": "kms add-image", "osImageHash": "0x" + f"{index + 1:064x}"},
            {"action": "app add-hash", "app": devnet.app, "composeHash": "0x" + f"{index + 0x1000:064x}"},
        ],
    }


def one_sample(client: httpx.Client, w3: Web3, devnet: Devnet, index: int) -> float:
    """Propose, sign once, then time the quorum signature's POST and the receipt lookup."""
    created = client.post("/api/proposals", json=_body(devnet, index), headers=AUTH)
    if created.status_code != 201:
        raise RuntimeError(f"propose #{index}: HTTP {created.status_code}: {created.text}")
    proposal_id = created.json()["id"]
    client.post(f"/api/proposals/{proposal_id}/signatures", json=_signature(client, proposal_id, devnet.owners[0]))
    quorum = _signature(client, proposal_id, devnet.owners[1])
    start = time.perf_counter()
    response = client.post(f"/api/proposals/{proposal_id}/signatures", json=quorum)
    body = response.json()
    execution = body.get("proposal", {}).get("execution") if response.status_code == 200 else None
    if execution is None:
        raise RuntimeError(f"proposal #{proposal_id} did not execute: HTTP {response.status_code}: {response.text}")
    receipt = w3.eth.get_transaction_receipt(HexBytes(execution["txHash"]))
    elapsed = time.perf_counter() - start
    if receipt["status"] != 1:
        raise RuntimeError(f"proposal #{proposal_id}: the execution reverted")
    return elapsed


def measure(anvil: Anvil, workdir: Path) -> list[float]:
    """Build the devnet and the served API, then collect SAMPLES latencies (bounded by DEADLINE_SECONDS)."""
    devnet = build_devnet(
        DevnetOptions(rpc_url=anvil.url, config_path=workdir / "dstack-gov.toml", state_dir=workdir / "devnet")
    )
    service = build_service(load_config(devnet.config_path), environ={})
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": HTTP_TIMEOUT}))
    samples: list[float] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        with (
            ThreadedServer(create_api(service, token=TOKEN)) as server,
            httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client,
        ):
            for index in range(SAMPLES):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gave up after {DEADLINE_SECONDS:.0f} s with {len(samples)} samples")
                samples.append(one_sample(client, w3, devnet, index))
    finally:
        service.store.close()  # type: ignore[attr-defined]
    return samples


def p90(samples: list[float]) -> float:
    """Return the nearest-rank 90th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def main() -> int:
    """Run the bench and print the figures; exit 1 when the median is over target."""
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory(prefix="dstack-gov-latency-") as tmp:
        samples = measure(anvil, Path(tmp))
    median = statistics.median(samples)
    print(f"signature -> execution receipt over the API, {len(samples)} proposals (anvil automine, SQLite)")
    print(f"  median {median * 1000:7.1f} ms")
    print(f"  p90    {p90(samples) * 1000:7.1f} ms")
    print(f"  max    {max(samples) * 1000:7.1f} ms")
    ratio = median / TARGET_SECONDS
    print(f"  median / {TARGET_SECONDS:g} s target = {ratio:.2f} ({'within' if ratio < 1 else 'OVER'} target)")
    return 0 if ratio < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
