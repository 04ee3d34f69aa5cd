"""`dstack-gov devnet`: Safe infra, a Safe owning a KMS and an app, and the config file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from safe_eth.safe import Safe

from contracts import app_contract, kms_contract
from dstack_gov.anvil import free_port, rpc_ready
from dstack_gov.config import load_config
from tests.helpers.cli import run_cli


def test_devnet_on_a_given_node_writes_a_working_config(capsys, anvil, w3, eth_client, tmp_path):
    result = run_cli(capsys, "devnet", "--rpc-url", anvil.url, "--owners", "3", "--threshold", "2", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert "Never use them on a real chain" in data["devOnly"]
    safe = Safe(data["safe"], eth_client)
    assert sorted(safe.retrieve_owners()) == sorted(o["address"] for o in data["owners"])
    assert safe.retrieve_threshold() == 2
    assert data["executor"]["address"] not in safe.retrieve_owners()
    assert kms_contract(w3, data["kms"]).functions.owner().call() == data["safe"]
    assert app_contract(w3, data["app"]).functions.owner().call() == data["safe"]
    assert kms_contract(w3, data["kms"]).functions.registeredApps(data["app"]).call() is True

    config = load_config(tmp_path / "dstack-gov.toml", environ={})
    assert config.contracts.kms == data["kms"] and config.safes[0].address == data["safe"]
    assert (
        config.executor.file is not None and config.executor.file.read_text().strip() == data["executor"]["privateKey"]
    )
    assert (config.executor.file.stat().st_mode & 0o077) == 0  # key files are private

    again = run_cli(capsys, "devnet", "--rpc-url", anvil.url, "--json").json()
    assert again["reused"] is True and again["kms"] == data["kms"] and again["safe"] == data["safe"]

    info = run_cli(capsys, "info", "kms", "--json")  # reads ./dstack-gov.toml
    assert info.code == 0 and info.json()["owner"] == data["safe"]


def test_devnet_key_owned(capsys, anvil, w3):
    data = run_cli(capsys, "devnet", "--rpc-url", anvil.url, "--key-owned", "--json").json()
    assert kms_contract(w3, data["kms"]).functions.owner().call() == data["deployer"]["address"]
    # The config's [signer] is the owning key, so direct mode works with no key flag.
    added = run_cli(capsys, "kms", "add-image", "0x" + "77" * 32, "--json")
    assert added.code == 0, added.err


def test_devnet_rejects_a_bad_threshold(capsys):
    result = run_cli(capsys, "devnet", "--owners", "2", "--threshold", "3", "--no-wait")
    assert result.code == 2 and "need 1 <= threshold <= owners <= 8" in result.error_line


def test_devnet_starts_anvil_keeps_state_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "dstack_gov", "devnet", "--port", str(port), "--json"]
    first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        summary = first.stdout.readline()  # the JSON summary comes before it waits for Ctrl-C
        assert '"kms"' in summary
        assert rpc_ready(f"http://127.0.0.1:{port}")
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert first.returncode == 0
    deadline = time.monotonic() + 10
    while rpc_ready(f"http://127.0.0.1:{port}", timeout=0.2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not rpc_ready(f"http://127.0.0.1:{port}", timeout=0.2), "anvil must stop with the devnet"
    assert (tmp_path / "devnet" / "anvil-state.json").exists()

    second = subprocess.run([*cmd, "--no-wait"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert '"reused": true' in second.stdout
