"""When the chain cannot be read for sure, both endpoints deny and GET / reports 500, without leaking secrets."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from authapi import Settings
from dstack_gov.anvil import free_port
from tests.authapi.bodies import valid_body
from tests.authapi.conftest import SILENT_SECRET as SECRET
from tests.authapi.conftest import cached_client, webhook_client
from tests.authapi.transports import ALLOWED, GATEWAY, canned, entries, hex_of, raw, results

pytestmark = pytest.mark.asyncio

UNAVAILABLE = {"isAllowed": False, "reason": "authorization backend unavailable", "gatewayAppId": ""}
STATUS_ERROR = {"status": "error", "message": "authorization backend unavailable"}
ENDPOINTS = ["/bootAuth/app", "/bootAuth/kms"]
KMS = "0x" + "11" * 20


def settings(url: str = "http://127.0.0.1:9", **fields: object) -> Settings:
    return Settings(rpc_url=url, kms_address=KMS, **fields)  # type: ignore[arg-type]


def ok_entry(i: int, result: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": i, "result": result}


MALFORMED = {
    "http-500": raw(b"oops", status=500),
    "http-429": raw(b'{"jsonrpc":"2.0","error":{"code":429}}', status=429),
    "not-json": raw(b"<html>bad gateway</html>"),
    "empty": raw(b""),
    "single-object": raw(b'{"jsonrpc":"2.0","id":1,"result":"0x"}'),
    "batch-rejected": raw(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request"}}'),
    "wrong-ids": entries(lambda ids: [ok_entry(i + 100, ALLOWED) for i in ids]),
    "string-ids": entries(lambda ids: [ok_entry(str(i), ALLOWED) for i in ids]),  # type: ignore[arg-type]
    "repeated-id": entries(lambda ids: [ok_entry(ids[0], ALLOWED), ok_entry(ids[0], GATEWAY)]),
    "missing-entry": entries(lambda ids: [ok_entry(ids[0], ALLOWED)]),
    "extra-entry": entries(lambda ids: [*(ok_entry(i, ALLOWED) for i in ids), ok_entry(999, ALLOWED)]),
    "entry-not-object": entries(lambda ids: [ok_entry(ids[0], ALLOWED), "0x"]),
    "error-entry": entries(
        lambda ids: [
            {"jsonrpc": "2.0", "id": ids[0], "error": {"code": 3, "message": "execution reverted"}},
            ok_entry(ids[1], GATEWAY),
        ]
    ),
    "no-result": entries(lambda ids: [{"jsonrpc": "2.0", "id": i} for i in ids]),
    "result-null": results(None, GATEWAY),
    "result-number": results(1, GATEWAY),
    "result-not-hex": results("0xzz", GATEWAY),
    "result-no-prefix": results(ALLOWED[2:], GATEWAY),
    "result-odd-length": results(ALLOWED + "0", GATEWAY),
    "result-empty": results("0x", GATEWAY),
    "result-short": results(ALLOWED[:66], GATEWAY),
    "bool-not-0-or-1": results("0x" + "00" * 31 + "02" + ALLOWED[66:], GATEWAY),
    "reason-not-utf8": results(hex_of(["bool", "bytes"], [False, b"\xff\xfe"]), GATEWAY),
    "gateway-undecodable": results(ALLOWED, "0x1234"),
    "gateway-as-bool": results(ALLOWED, hex_of(["bool"], [True])),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_rpc_answer_fails_closed(endpoint, answer):
    transport, seen = canned(answer)
    async with webhook_client(settings(), rpc_transport=transport) as client:
        response = await client.post(endpoint, json=valid_body())
    assert response.status_code == 200
    assert response.json() == UNAVAILABLE
    assert len(seen) == 1


GATEWAY_SELECTOR = "0x95f51931"


def healthy_node(batch: list[dict[str, Any]]) -> httpx.Response:
    """Answer like a node at block 16 whose KMS allows everything."""

    def result(call: dict[str, Any]) -> str:
        if call["method"] == "eth_blockNumber":
            return "0x10"
        return GATEWAY if call["params"][0]["data"].startswith(GATEWAY_SELECTOR) else ALLOWED

    return httpx.Response(200, json=[ok_entry(c["id"], result(c)) for c in batch])


@pytest.mark.parametrize("block_cache", [False, True])
async def test_well_formed_canned_answer_is_trusted(block_cache):
    # The control for the cases above: the same canned machinery, with a correct answer, allows.
    transport, _ = canned(healthy_node)
    async with webhook_client(settings(block_cache=block_cache), rpc_transport=transport) as client:
        response = await client.post("/bootAuth/app", json=valid_body())
    assert response.json() == {"isAllowed": True, "reason": "", "gatewayAppId": "gw-from-mock"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("block_cache", [False, True])
async def test_rpc_down_fails_closed_without_leaking_the_url(endpoint, block_cache, caplog):
    url = f"http://user:{SECRET}@127.0.0.1:{free_port()}/v3/{SECRET}?apikey={SECRET}"
    caplog.set_level(logging.DEBUG, logger="authapi")
    async with webhook_client(settings(url, block_cache=block_cache)) as client:
        response = await client.post(endpoint, json=valid_body())
    assert response.status_code == 200
    assert response.json() == UNAVAILABLE
    assert "RPC node unreachable" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("block_cache", [False, True])
async def test_slow_rpc_fails_closed_at_the_timeout(silent_rpc, endpoint, block_cache, caplog):
    caplog.set_level(logging.WARNING, logger="authapi")
    async with webhook_client(settings(silent_rpc, rpc_timeout=0.3, block_cache=block_cache)) as client:
        response = await client.post(endpoint, json=valid_body())
    assert response.status_code == 200
    assert response.json() == UNAVAILABLE
    assert "within 0.3 s" in caplog.text
    assert SECRET not in caplog.text


async def test_status_is_500_when_rpc_is_down():
    async with webhook_client(settings(f"http://127.0.0.1:{free_port()}")) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.json() == STATUS_ERROR


async def test_status_is_500_when_rpc_is_slow(silent_rpc):
    async with webhook_client(settings(silent_rpc, rpc_timeout=0.3)) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.content == b'{"status":"error","message":"authorization backend unavailable"}'


@pytest.mark.parametrize("answer", [MALFORMED["not-json"], MALFORMED["wrong-ids"], results("0x1", "0x", "0x")])
async def test_status_is_500_on_a_malformed_answer(answer):
    transport, _ = canned(answer)
    async with webhook_client(settings(), rpc_transport=transport) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.json() == STATUS_ERROR


async def test_unexpected_error_fails_closed_without_a_traceback(caplog):
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"boom at http://user:{SECRET}@node")

    async with webhook_client(settings(), rpc_transport=httpx.MockTransport(explode)) as client:
        boot = await client.post("/bootAuth/app", json=valid_body())
        status = await client.get("/")
    assert (boot.status_code, boot.json()) == (200, UNAVAILABLE)
    assert (status.status_code, status.json()) == (500, STATUS_ERROR)
    assert "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


async def test_invalid_request_is_still_400_when_rpc_is_down():
    async with webhook_client(settings(f"http://127.0.0.1:{free_port()}")) as client:
        response = await client.post("/bootAuth/kms", content=json.dumps({"appId": 1}))
    assert response.status_code == 400


async def test_cache_fails_closed_once_the_head_poller_cannot_reach_the_node(caplog):
    down = False

    def node(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("connection refused")
        return healthy_node(json.loads(request.content))

    async with cached_client("http://127.0.0.1:9", KMS, 0.1, httpx.MockTransport(node)) as (client, follower):
        await asyncio.wait_for(follower.wait_past(None), timeout=30)
        assert (await client.post("/bootAuth/app", json=valid_body())).json()["isAllowed"] is True
        down = True
        # Within 2 poll intervals a cached answer may still be served; after that, never.
        async with asyncio.timeout(30):
            while follower.current() is not None:  # noqa: ASYNC110 - the head lapses with time, not an event
                await asyncio.sleep(0.05)
        response = await client.post("/bootAuth/app", json=valid_body())
    assert (response.status_code, response.json()) == (200, UNAVAILABLE)
    assert "head poll failed: RPC node unreachable" in caplog.text
