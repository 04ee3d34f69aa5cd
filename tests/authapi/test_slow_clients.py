"""A real webhook process under clients that stall mid-body or vanish: it closes them and keeps serving."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dstack_gov.anvil import free_port
from tests.authapi.test_server import RUN_CLI, clean_env
from tests.authapi.world import app_request
from tests.helpers.processes import stop, wait_until_serving
from tests.helpers.slow_clients import half_request, read_until_closed, stalled_clients

BODY_TIMEOUT = 1.0
STALLED = 50


@pytest.fixture
def webhook(anvil, world, tmp_path) -> Iterator[tuple[int, Path]]:
    """Start `dstack-gov -v authapi` with a 1 s body deadline; yield its port and its log file."""
    port = free_port()
    (tmp_path / "dstack-gov.toml").write_text(
        f'[chain]\nrpc_url = "{anvil.url}"\n[contracts]\nkms = "{world.kms.kms_address}"\n'
        f"[authapi]\nport = {port}\nbody_timeout = {BODY_TIMEOUT}\n"
    )
    log = tmp_path / "webhook.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", RUN_CLI, "-v", "authapi"], env=clean_env(),
                                   cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            wait_until_serving(process, f"http://127.0.0.1:{port}/", timeout=30)
            yield port, log
            assert process.poll() is None, log.read_text()
        finally:
            stop(process)


@pytest.mark.parametrize("endpoint", ["/bootAuth/app", "/bootAuth/kms"])
def test_stalled_bodies_are_answered_408_and_closed(webhook, world, endpoint):
    port, log = webhook
    with stalled_clients(port, endpoint, STALLED) as clients:
        answers = read_until_closed(clients, within=BODY_TIMEOUT + 14)
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a[:40] for a in answers}
    allowed = httpx.post(f"http://127.0.0.1:{port}/bootAuth/app", json=app_request(world.app), timeout=10)
    assert allowed.json()["isAllowed"] is True
    assert log.read_text().count("refused a slow client") == STALLED


def test_a_client_gone_mid_body_is_one_log_line(webhook):
    port, log = webhook
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(half_request("/bootAuth/app", port))
        time.sleep(0.2)  # let the server start reading the body before the client goes
    deadline = time.monotonic() + 10
    while "disconnected" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert [line for line in text.splitlines() if "disconnected" in line] == [
        "INFO authapi: bootAuth/app: the client disconnected before sending its whole body"
    ], text
    assert "Traceback" not in text and "ERROR" not in text
