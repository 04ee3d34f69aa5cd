"""Signature -> executed through a far-away RPC: the median, the requests on that path, the ratio to a near one.

Reuses bench/rpc_count.py's counting proxy and timing loop (one fresh 2-of-3 proposal per sample,
the threshold-meeting signature timed from its arrival to the recorded receipt). The service is
wired as `dstack-gov run` wires it, with `[chain] rpc_urls` = [an endpoint that refuses connections,
the proxy]: the dead endpoint is tried once, then ranked last, so the figure also shows what the
failover costs once it has settled.

Printed: the JSON-RPC requests of one quorum signature (a batch counts once), the median at 0 ms and
at DELAY_MS added to every request, their ratio, and requests x DELAY_MS (what the delay alone explains).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.rpc_count import DELAY_MS, SAMPLES, CountingProxy, count_steps, time_quorum
from dstack_gov.anvil import Anvil, free_port
from dstack_gov.config import load_config
from dstack_gov.devnet import DevnetOptions, build_devnet
from dstack_gov.wiring import Overrides, build_service

DEADLINE_SECONDS = 300.0


def main() -> int:
    """Print the quorum-signature requests and medians at 0 ms and DELAY_MS per request, through failover."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory(prefix="dstack-gov-slow-rpc-") as tmp:
        workdir = Path(tmp)
        devnet = build_devnet(
            DevnetOptions(rpc_url=anvil.url, config_path=workdir / "dstack-gov.toml", state_dir=workdir / "devnet")
        )
        with CountingProxy(anvil.url) as proxy:
            service = build_service(load_config(devnet.config_path), Overrides(rpc_urls=(dead, proxy.url)), environ={})
            try:
                counts = count_steps(service, proxy, devnet)  # also settles the pool: the dead endpoint ranks last
                fast = time_quorum(service, devnet, 100, deadline)
                proxy.delay = DELAY_MS / 1000
                proxy.tally.take()
                slow = time_quorum(service, devnet, 200, deadline)
                slow_requests, _ = proxy.tally.take()
            finally:
                service.store.close()  # type: ignore[attr-defined]
            endpoints = service.rpc_endpoints()
    requests, methods = counts["quorum-sign"]
    # Each sample also files and first-signs a proposal; only the quorum signature is timed.
    per_sample = slow_requests / SAMPLES
    fast_median, slow_median = statistics.median(fast), statistics.median(slow)
    print("signature -> executed (quorum signature to recorded receipt), 2-of-3 Safe, 2-action MultiSend")
    print(f"  rpc_urls = [dead endpoint, proxy]; dead endpoint errors: {endpoints[0].errors}")
    print(f"  JSON-RPC requests on the path: {requests}   ({', '.join(f'{m} x{n}' for m, n in methods.most_common())})")
    print(f"  requests per sample, filing and first signature included: {per_sample:.0f}")
    print(f"  median of {SAMPLES}, 0 ms per request   {fast_median * 1000:8.1f} ms")
    ratio, delay = slow_median / fast_median, requests * DELAY_MS
    print(f"  median of {SAMPLES}, {DELAY_MS} ms per request  {slow_median * 1000:8.1f} ms   "
          f"({ratio:.1f}x; {requests} x {DELAY_MS} ms = {delay} ms of delay)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
