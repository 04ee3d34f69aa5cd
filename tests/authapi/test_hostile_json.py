"""Deep JSON from either side of the webhook: the KMS's request, or a hostile RPC node's answer."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from authapi import Settings
from dstack_gov.anvil import free_port
from tests.authapi.conftest import webhook_client
from tests.authapi.world import app_request
from tests.helpers.hostile_documents import DEEP_JSON
from tests.helpers.processes import stop, wait_until_serving

KMS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
APP = "0x" + "11" * 20
UNAVAILABLE = {"isAllowed": False, "reason": "authorization backend unavailable", "gatewayAppId": ""}
ENTRIES = {
    "dstack-gov authapi": [
        "-c",
        "import sys; from dstack_gov.cli import main; sys.exit(main(sys.argv[1:]))",
        "authapi",
    ],
    "uvicorn --factory": [
        "-m",
        "uvicorn",
        "dstack_gov.webhook:create_app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
    ],
}


@pytest.fixture
def deep_node() -> Iterator[str]:
    """Return the URL of an RPC node that answers every request with 100,000 nested arrays."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(DEEP_JSON)))
            self.end_headers()
            self.wfile.write(DEEP_JSON)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def test_a_deep_request_is_refused_as_invalid(deep_node):
    async with webhook_client(Settings(rpc_url=deep_node, kms_address=KMS)) as client:
        response = await client.post("/bootAuth/app", content=DEEP_JSON, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["reason"] == "invalid authorization request"


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_deep_rpc_answer_fails_closed_and_the_server_lives(deep_node, tmp_path, entry):
    port = free_port()
    names = ("DSTACK_GOV_CONFIG", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update(ETH_RPC_URL=deep_node, KMS_CONTRACT_ADDR=KMS, PORT=str(port))
    argv = [sys.executable, *ENTRIES[entry]] + (["--port", str(port)] if entry.startswith("uvicorn") else [])
    process = subprocess.Popen(argv, env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url + "/metrics")  # GET / is a 500 while the chain is unreadable
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(2):
                verdict = client.post("/bootAuth/app", json=app_request(APP))
                assert (verdict.status_code, verdict.json()) == (200, UNAVAILABLE)
            assert client.get("/").status_code == 500  # the status check cannot read the chain either
        assert process.poll() is None
    finally:
        stop(process)
