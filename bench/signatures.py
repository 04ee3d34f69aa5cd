"""Signature verification throughput: how many owner signatures per second the core checks.

Checks EIP-712 signatures of Safe txs the way the service does (recover, then match the Safe's
owners). eth-keys must run on its C backend (coincurve); the same measurement is repeated in a
child process forced onto the pure-Python backend, so the table shows what the C backend buys.
Target: >= 2,000 per second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from statistics import median

from eth_account import Account
from eth_keys import keys
from rich.console import Console
from rich.table import Table
from web3 import Web3

from proposals.safe_tx import SafeState, SafeTxHashes, new_safe_tx_data, safe_tx_hashes, typed_data
from proposals.signatures import check_signature

TARGET_PER_SECOND = 2_000
ROUNDS = 5


def _signed(count: int) -> tuple[SafeState, list[tuple[SafeTxHashes, bytes]]]:
    owners = [Account.create() for _ in range(5)]
    state = SafeState(Web3.to_checksum_address("0x" + "5a" * 20), "1.4.1", 1337, 7, tuple(o.address for o in owners), 3)
    signed = []
    for i in range(count):
        tx = new_safe_tx_data(state, Web3.to_checksum_address("0x" + "0b" * 20), i.to_bytes(32, "big"), 0, 7)
        signature = owners[i % len(owners)].sign_typed_data(full_message=typed_data(tx)).signature
        signed.append((safe_tx_hashes(tx), bytes(signature)))
    return state, signed


def measure(count: int) -> float:
    """Return checks per second (median of ROUNDS) with the current eth-keys backend."""
    state, signed = _signed(count)
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for hashes, signature in signed:
            checked = check_signature(None, state, hashes, signature)  # type: ignore[arg-type]  # EOA path: no chain
            assert state.is_owner(checked.owner)
        rates.append(count / (time.perf_counter() - start))
    return median(rates)


def main() -> int:
    """Measure on both backends and print the table; exit 1 under target or without coincurve."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps({"rate": measure(int(sys.argv[2])), "backend": type(keys.backend).__name__}))
        return 0
    backend = type(keys.backend).__name__
    fast = measure(1000)
    env = dict(os.environ, ECC_BACKEND_CLASS="eth_keys.backends.NativeECCBackend")
    child = subprocess.run([sys.executable, __file__, "--child", "100"], env=env, capture_output=True, text=True,
                           check=True, timeout=300)  # fmt: skip
    slow = json.loads(child.stdout)
    table = Table(title="EIP-712 owner-signature checks (recover + owner match), one process, one core")
    table.add_column("eth-keys backend")
    table.add_column("checks / s", justify="right")
    table.add_column("/ target 2,000", justify="right")
    table.add_row(backend, f"{fast:,.0f}", f"{fast / TARGET_PER_SECOND:.2f}")
    table.add_row(slow["backend"], f"{slow['rate']:,.0f}", f"{slow['rate'] / TARGET_PER_SECOND:.2f}")
    table.add_row("C / pure Python", f"{fast / slow['rate']:.1f}x", "")
    Console().print(table)
    return 0 if fast >= TARGET_PER_SECOND and backend == "CoinCurveECCBackend" else 1


if __name__ == "__main__":
    sys.exit(main())
