"""The real thing: `dstack-gov serve` under uvicorn on a loopback port, driven over TCP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from hexbytes import HexBytes

from dstack_gov.anvil import free_port
from tests.api.conftest import COMPOSE, IMAGE, TOKEN, batch_body
from tests.helpers.chain import dev_account
from tests.helpers.cli import run_cli
from tests.helpers.governance import EXECUTOR_INDEX
from tests.helpers.processes import stop, wait_until_serving
from tests.helpers.prometheus import scraped

RUN_CLI = "import sys; from dstack_gov.cli import main; sys.exit(main(sys.argv[1:]))"
OVERRIDES = ("DSTACK_GOV_CONFIG", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS", "ETH_RPC_URL", "KMS_CONTRACT_ADDR",
             "DSTACK_GOV_DATABASE_URL", "DSTACK_GOV_EXECUTOR_KEY", "DSTACK_GOV_API_TOKEN", "PORT")  # fmt: skip


def write_config(tmp_path, anvil, gov) -> None:
    """Write a config file and an executor key file for the deployment."""
    (tmp_path / "executor.key").write_text("0x" + bytes(dev_account(EXECUTOR_INDEX).key).hex() + "\n")
    lines = [
        "[chain]", f'rpc_url = "{anvil.url}"', "chain_id = 1337",
        "[contracts]", f'kms = "{gov.kms_address}"',
        "[safe_infra]", f'multi_send_call_only = "{gov.infra.multi_send_call_only}"',
        f'simulate_tx_accessor = "{gov.infra.simulate_tx_accessor}"',
        "[[safes]]", f'address = "{gov.safe}"',
        "[executor]", 'file = "executor.key"',
        "[database]", 'url = "sqlite:///served.sqlite"',
    ]  # fmt: skip
    (tmp_path / "dstack-gov.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def served(anvil, gov, tmp_path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `dstack-gov serve` with the token in $DSTACK_GOV_API_TOKEN; stop it afterwards."""
    write_config(tmp_path, anvil, gov)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    env["DSTACK_GOV_API_TOKEN"] = TOKEN
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "serve", "--port", str(port), "--json"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url + "/healthz")
        yield url, process
    finally:
        stop(process)


async def test_served_api_proposes_signs_and_executes_over_tcp(served, gov, w3):
    url, process = served
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        health = (await client.get("/readyz")).json()
        unauthorised = await client.post("/api/proposals", json=batch_body(gov))
        created = await client.post("/api/proposals", json=batch_body(gov), headers=auth)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        typed = (await client.get(f"/api/proposals/{pid}/typed-data")).json()
        results = []
        for owner in gov.owners[:2]:
            signature = "0x" + bytes(owner.sign_typed_data(full_message=typed).signature).hex()
            results.append(await client.post(f"/api/proposals/{pid}/signatures", json={"signature": signature}))
        metrics = (await client.get("/metrics")).text
    assert (health["status"], health["chainId"]) == ("ready", 1337)
    assert unauthorised.status_code == 401
    assert [r.status_code for r in results] == [200, 200]
    done = results[1].json()["proposal"]
    assert done["state"] == "executed"
    assert w3.eth.get_transaction_receipt(HexBytes(done["execution"]["txHash"]))["status"] == 1
    assert gov.kms.functions.allowedOsImages(HexBytes(IMAGE)).call() is True
    assert gov.app.functions.allowedComposeHashes(HexBytes(COMPOSE)).call() is True
    assert scraped(metrics)["dstack_gov_executions_total", frozenset({("outcome", "executed")})] == 1

    process.terminate()
    out, err = process.communicate(timeout=10)
    startup = json.loads(out.decode().splitlines()[0])
    assert (startup["url"], startup["writes"], startup["safes"]) == (url, True, [gov.safe])
    assert startup["executor"] == dev_account(EXECUTOR_INDEX).address
    assert TOKEN not in out.decode() + err.decode()
    assert "Traceback" not in err.decode()


def test_serve_explains_a_config_without_safes(capsys, tmp_path, monkeypatch):
    for name in OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.toml").write_text('[chain]\nrpc_url = "http://127.0.0.1:9"\n')
    result = run_cli(capsys, "serve", "--config", str(tmp_path / "empty.toml"), "--port", "0")
    assert result.code == 2
    assert result.error_line == "error: no Safes configured: add a [[safes]] entry (address = ...) to the config"


def test_serve_explains_a_busy_port(capsys, tmp_path, monkeypatch):
    for name in OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.toml").write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_cli(capsys, "serve", "--config", str(tmp_path / "empty.toml"), "--port", str(port))
    assert result.code == 2
    assert result.error_line.startswith(f"error: cannot listen on 127.0.0.1:{port}:")


async def test_served_api_refuses_a_deep_body_and_keeps_serving(served):
    # 200 KB of nesting under the 256 KiB cap: json.loads once overflowed the C stack and the server died.
    url, process = served
    deep = b"[" * 100_000 + b"]" * 100_000
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for path in ("/api/proposals/1/signatures", "/api/proposals"):
            refused = await client.post(path, content=deep, headers={"content-type": "application/json"})
            assert (refused.status_code, refused.json()) == (400, {"error": "body: nested deeper than 64 levels"})
        assert (await client.get("/healthz")).status_code == 200
    assert process.poll() is None
