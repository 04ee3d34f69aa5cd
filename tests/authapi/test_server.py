"""The real thing: `dstack-gov authapi` under uvicorn on a loopback port, and its command-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from dstack_gov.anvil import free_port
from dstack_gov.cli import main
from dstack_gov.webhook import create_app_from_env
from tests.authapi.conftest import WEBHOOK
from tests.authapi.world import GATEWAY_APP_ID, app_request, kms_request
from tests.helpers.processes import stop, wait_until_serving

RUN_CLI = "import sys; from dstack_gov.cli import main; sys.exit(main(sys.argv[1:]))"
KMS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def clean_env(**extra: str) -> dict[str, str]:
    """Return the environment minus every dstack-gov override, plus `extra`."""
    names = ("DSTACK_GOV_CONFIG", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS", "ETH_RPC_URL", "KMS_CONTRACT_ADDR", "PORT")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(extra)
    return env


@pytest.fixture
def served(anvil, world, tmp_path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `dstack-gov authapi` configured only by ETH_RPC_URL, KMS_CONTRACT_ADDR and PORT."""
    port = free_port()
    env = clean_env(ETH_RPC_URL=anvil.url, KMS_CONTRACT_ADDR=world.kms.kms_address, PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "authapi"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, timeout=20)
        yield url, process
    finally:
        stop(process)


@pytest.mark.asyncio
async def test_real_server_answers_over_tcp(anvil, world, served):
    url, process = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        status = await client.get("/")
        app = await client.post("/bootAuth/app", json=app_request(world.app))
        kms = await client.post("/bootAuth/kms", json=kms_request(tcbStatus="OutOfDate"))
        bad = await client.post("/bootAuth/app", content=b"{", headers={"content-type": "application/json"})
    assert status.json()["kmsContractAddr"] == world.kms.kms_address
    assert status.json()["ethRpcUrl"] == anvil.url
    assert app.content == b'{"isAllowed":true,"reason":"","gatewayAppId":"' + GATEWAY_APP_ID.encode() + b'"}'
    assert kms.json() == {
        "isAllowed": False,
        "reason": "TCB status is not up to date",
        "gatewayAppId": GATEWAY_APP_ID,
    }
    assert (bad.status_code, bad.json()["reason"]) == (400, "invalid authorization request")
    assert "server" not in {k.lower() for k in app.headers}
    process.terminate()
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as process managers expect.
    assert process.wait(timeout=10) in (0, -signal.SIGTERM)
    assert b"authapi: serving on http://127.0.0.1:" in (process.stderr.read() if process.stderr else b"")


@pytest.mark.asyncio
async def test_uvicorn_factory_reads_the_same_environment(anvil, world, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("DSTACK_GOV_CONFIG", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ETH_RPC_URL", anvil.url)
    monkeypatch.setenv("KMS_CONTRACT_ADDR", world.kms.kms_address)
    app = create_app_from_env()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WEBHOOK) as client:
            response = await client.post("/bootAuth/app", json=app_request(world.app))
    finally:
        await app.state.webhook.reader.rpc.aclose()
    assert response.json()["isAllowed"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no KMS contract address"),
        (["--kms", "0x1234"], "not a KMS contract address"),
        (["--kms", KMS, "--rpc-url", "wss://node.example/s3cret"], "http:// or https://"),
        (["--kms", KMS, "--rpc-timeout", "0"], "--rpc-timeout"),
        (["--kms", KMS, "--port", "70000"], "--port"),
        (["--config", "/nonexistent/dstack-gov.toml"], "config file not found"),
    ],
)
def test_cli_refuses_unusable_settings_in_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    for name in ("DSTACK_GOV_CONFIG", "DSTACK_GOV_KMS", "KMS_CONTRACT_ADDR", "PORT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["authapi", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "s3cret" not in err


def test_cli_reports_a_busy_port(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(["authapi", "--kms", KMS, "--rpc-url", "http://127.0.0.1:9", "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
