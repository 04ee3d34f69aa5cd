"""Count the JSON-RPC round trips of the proposal path, and time the quorum signature with an added delay.

A loopback proxy sits between the service and a fresh anvil (automine). It forwards every HTTP
POST unchanged, counts it (a JSON-RPC batch is one round trip; its methods are listed), and can
sleep before forwarding to stand in for a public RPC that is far away. The service is wired
exactly as `dstack-gov serve` wires it, with its RPC URL pointed at the proxy; the devnet is built
straight against anvil, so only the service's own traffic is counted.

Steps counted, each on a fresh 2-of-3 proposal:
- file: `propose` (precheck, simulation, store);
- sign: the first owner signature (below threshold);
- quorum-sign: the threshold-meeting signature, which executes and records the receipt;
- view: `view` of the executed proposal (what `status` and the announcement show).

Then it times the quorum signature (signature received -> receipt recorded) over SAMPLES proposals
with no added delay and with DELAY_MS per request, and prints the medians and their ratio.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.config import load_config
from dstack_gov.devnet import Devnet, DevnetOptions, build_devnet
from dstack_gov.wiring import Overrides, build_service
from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from proposals.service import GovernanceService

SAMPLES = 7
DELAY_MS = 50
DEADLINE_SECONDS = 240.0
STEPS = ("file", "sign", "quorum-sign", "view")


@dataclass
class Tally:
    """Round trips and methods seen by the proxy since the last reset."""

    requests: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, payload: Any) -> None:
        """Count one HTTP round trip carrying `payload` (a call or a batch)."""
        calls = payload if isinstance(payload, list) else [payload]
        with self.lock:
            self.requests += 1
            self.methods.update(str(c.get("method")) for c in calls if isinstance(c, dict))

    def take(self) -> tuple[int, Counter[str]]:
        """Return the counts so far and start again from zero."""
        with self.lock:
            counts = (self.requests, self.methods)
            self.requests, self.methods = 0, Counter()
            return counts


class CountingProxy:
    """A loopback JSON-RPC proxy that counts requests and can add a fixed delay to each."""

    def __init__(self, upstream: str) -> None:
        self.tally = Tally()
        self.delay = 0.0
        self._client = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.tally.add(json.loads(body))
                if proxy.delay:
                    time.sleep(proxy.delay)
                reply = proxy._client.post(upstream, content=body, headers={"Content-Type": "application/json"})
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def _request(devnet: Devnet, index: int) -> ChangeRequest:
    return ChangeRequest(
        title=f"Bench release {index}",
        actions=(
            RequestedAction(get_action("kms add-image"), {"osImageHash": "0x" + f"{index + 1:064x}"}),
            RequestedAction(
                get_action("app add-hash"), {"composeHash": "0x" + f"{index + 0x1000:064x}"}, target=devnet.app
            ),
        ),
    )


@contextmanager
def _step(proxy: CountingProxy, counts: dict[str, tuple[int, Counter[str]]], name: str) -> Iterator[None]:
    proxy.tally.take()
    yield
    counts[name] = proxy.tally.take()


Counts = dict[str, tuple[int, Counter[str]]]


def count_steps(service: GovernanceService, proxy: CountingProxy, devnet: Devnet) -> Counts:
    """Run one proposal through every step and return the round trips of each."""
    counts: Counts = {}
    with _step(proxy, counts, "file"):
        proposal = service.propose(_request(devnet, 0), proposer="bench")
    with _step(proxy, counts, "sign"):
        service.sign_with_account(proposal.id, devnet.owners[0], source="bench")
    with _step(proxy, counts, "quorum-sign"):
        result = service.sign_with_account(proposal.id, devnet.owners[1], source="bench")
    if result.proposal.execution_tx_hash is None:
        raise RuntimeError(f"proposal #{proposal.id} did not execute: {result.execution_error}")
    with _step(proxy, counts, "view"):
        service.view(proposal.id)
    return counts


def time_quorum(service: GovernanceService, devnet: Devnet, first_index: int, deadline: float) -> list[float]:
    """Return SAMPLES timings of the threshold-meeting signature, from receipt of it to the recorded receipt."""
    samples = []
    for index in range(first_index, first_index + SAMPLES):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after {DEADLINE_SECONDS:.0f} s")
        proposal = service.propose(_request(devnet, index), proposer="bench")
        service.sign_with_account(proposal.id, devnet.owners[0], source="bench")
        start = time.perf_counter()
        result = service.sign_with_account(proposal.id, devnet.owners[1], source="bench")
        samples.append(time.perf_counter() - start)
        if result.proposal.execution_tx_hash is None:
            raise RuntimeError(f"proposal #{proposal.id} did not execute: {result.execution_error}")
    return samples


def main() -> int:
    """Print the round trips per step and the quorum-signature medians at 0 ms and DELAY_MS per request."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory(prefix="dstack-gov-rpc-") as tmp:
        workdir = Path(tmp)
        devnet = build_devnet(
            DevnetOptions(rpc_url=anvil.url, config_path=workdir / "dstack-gov.toml", state_dir=workdir / "devnet")
        )
        with CountingProxy(anvil.url) as proxy:
            service = build_service(load_config(devnet.config_path), Overrides(rpc_url=proxy.url), environ={})
            try:
                counts = count_steps(service, proxy, devnet)
                fast = time_quorum(service, devnet, 100, deadline)
                proxy.delay = DELAY_MS / 1000
                slow = time_quorum(service, devnet, 200, deadline)
            finally:
                service.store.close()  # type: ignore[attr-defined]
    print("JSON-RPC round trips per step (a batch counts once), 2-of-3 Safe, 2-action MultiSend")
    for name in STEPS:
        requests, methods = counts[name]
        listed = ", ".join(f"{m} x{n}" for m, n in methods.most_common())
        print(f"  {name:<12} {requests:>3}   {listed}")
    fast_median, slow_median = statistics.median(fast), statistics.median(slow)
    print(f"quorum signature -> receipt recorded, median of {SAMPLES}:")
    print(f"  0 ms per request    {fast_median * 1000:8.1f} ms")
    ratio = slow_median / fast_median
    print(f"  {DELAY_MS} ms per request   {slow_median * 1000:8.1f} ms   ({ratio:.1f}x the 0 ms path)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
