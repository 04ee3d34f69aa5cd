"""The API under uvicorn closes clients that stall mid-body, and keeps serving everyone else."""

from __future__ import annotations

import logging
import socket
import time

import httpx

from dstack_gov.api import create_api
from dstack_gov.api.server import ThreadedServer
from tests.api.conftest import TOKEN
from tests.helpers.slow_clients import half_request, read_until_closed, stalled_clients

BODY_TIMEOUT = 1.0
STALLED = 50


def test_stalled_bodies_are_answered_408_and_closed(gov):
    with ThreadedServer(create_api(gov.svc, token=TOKEN, body_timeout=BODY_TIMEOUT)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with stalled_clients(port, "/api/proposals", STALLED) as clients:
            answers = read_until_closed(clients, within=BODY_TIMEOUT + 14)
        health = httpx.get(server.url + "/healthz", timeout=10)
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a[:40] for a in answers}
    assert b'{"error":"request body not received within 1 s"}' in answers[0]
    assert health.status_code == 200


def test_a_client_gone_mid_body_logs_no_error(gov, caplog):
    caplog.set_level(logging.DEBUG)
    with ThreadedServer(create_api(gov.svc, token=TOKEN, body_timeout=BODY_TIMEOUT)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(half_request("/api/proposals", port))
            time.sleep(0.2)  # let the server start reading the body before the client goes
        time.sleep(BODY_TIMEOUT + 0.5)  # past the deadline, in case the disconnect went unnoticed
        health = httpx.get(server.url + "/healthz", timeout=10)
    assert health.status_code == 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
