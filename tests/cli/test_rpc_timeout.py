"""A node that accepts connections and never answers costs a command one RPC timeout, not five."""

from __future__ import annotations

import time

from tests.helpers.cli import run_cli
from tests.helpers.rpc_proxy import RpcProxy

KMS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TIMEOUT = 1.0
# web3 used to retry a timed-out request five times (about 6.9 s here); one attempt takes about 1 s.
BOUND = 4 * TIMEOUT


def test_a_silent_node_fails_a_command_within_the_timeout(anvil, capsys, tmp_path):
    with RpcProxy(anvil.url, silent=True) as node:
        (tmp_path / "dstack-gov.toml").write_text(f'[chain]\nrpc_url = "{node.url}"\nrpc_timeout = {TIMEOUT}\n')
        started = time.monotonic()
        result = run_cli(capsys, "info", "kms", "--kms", KMS)
        elapsed = time.monotonic() - started
    assert result.code == 1
    assert "unreachable" in result.error_line
    assert elapsed < BOUND, f"took {elapsed:.1f} s with rpc_timeout = {TIMEOUT:g}"
    assert len(node.targets) == 1  # one attempt, no retries
