"""Several RPC nodes: a node that fails as a node is passed over, an answer stands, and nothing leaks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from authapi import Settings
from authapi.failover import FailoverRpc
from authapi.jsonrpc import RpcError, eth_call
from authapi.rpc import RpcClient
from dstack_gov.anvil import DEV_CHAIN_ID, free_port
from tests.authapi.conftest import webhook_client
from tests.authapi.transports import ALLOWED
from tests.authapi.world import GATEWAY_APP_ID, app_request

pytestmark = pytest.mark.asyncio

ALLOW = {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
UNAVAILABLE = {"isAllowed": False, "reason": "authorization backend unavailable", "gatewayAppId": ""}
SECRET = "k3y-in-the-url"
BOUND = 20  # seconds any one test may take


@asynccontextmanager
async def answering(status_line: bytes) -> AsyncIterator[str]:
    """Yield the URL of a loopback server that answers every request with `status_line` and no body."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                              if k.lower() == b"content-length")  # fmt: skip
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 " + status_line + b"\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v3/{SECRET}"
    finally:
        server.close()


def dead_url() -> str:
    """Return a URL where nothing listens: the connection is refused at once."""
    return f"http://127.0.0.1:{free_port()}/v3/{SECRET}"


def fallback_settings(anvil_url: str, kms: str, first: str, **fields: object) -> Settings:
    return Settings(  # type: ignore[arg-type]
        rpc_url=first, fallback_rpc_urls=(anvil_url,), kms_address=kms, chain_id=DEV_CHAIN_ID, **fields
    )


@asynccontextmanager
async def first_node(kind: str) -> AsyncIterator[str]:
    """Yield the URL of a node that fails as `kind` says: refusing connections, or answering 503 or 429."""
    if kind == "refused":
        yield dead_url()
        return
    async with answering(b"503 Service Unavailable" if kind == "503" else b"429 Too Many Requests") as url:
        yield url


@pytest.mark.parametrize("first", ["refused", "503", "429"])
async def test_a_failing_first_node_is_passed_over_and_then_asked_last(anvil, world, caplog, first):
    async with asyncio.timeout(BOUND), first_node(first) as first_url:
        settings = fallback_settings(anvil.url, world.kms.kms_address, first_url)
        async with webhook_client(settings) as client:
            answers = [(await client.post("/bootAuth/app", json=app_request(world.app))).json() for _ in range(3)]
            poster = client._transport.app.state.webhook.reader.rpc.client  # type: ignore[attr-defined]
            first_stats, anvil_stats = poster.stats()
    assert answers == [ALLOW] * 3
    # Failed once, it ranks below the healthy node: the next requests do not try it again.
    assert (first_stats.requests, anvil_stats.requests) == (1, 3)
    kind = {"refused": "connection", "503": "http_5xx", "429": "http_429"}[first]
    assert first_stats.errors == {kind: 1} and first_stats.health < anvil_stats.health
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].endswith("; trying the next")
    assert SECRET not in caplog.text


async def test_a_silent_first_node_costs_its_share_of_the_timeout_not_the_request(anvil, world, silent_rpc):
    settings = fallback_settings(anvil.url, world.kms.kms_address, silent_rpc, rpc_timeout=2.0)
    async with asyncio.timeout(BOUND), webhook_client(settings) as client:
        response = await client.post("/bootAuth/app", json=app_request(world.app))
        poster = client._transport.app.state.webhook.reader.rpc.client  # type: ignore[attr-defined]
        assert poster.stats()[0].errors == {"timeout": 1}
    assert response.json() == ALLOW


async def test_when_every_node_fails_the_webhook_fails_closed(world, caplog):
    settings = Settings(  # type: ignore[arg-type]
        rpc_url=dead_url(), fallback_rpc_urls=(dead_url(),), kms_address=world.kms.kms_address, chain_id=DEV_CHAIN_ID
    )
    async with asyncio.timeout(BOUND), webhook_client(settings) as client:
        response = await client.post("/bootAuth/app", json=app_request(world.app))
        status = await client.get("/")
    assert response.json() == UNAVAILABLE
    assert status.status_code == 500
    assert "no RPC node answered (2 tried): RPC node unreachable (connection refused)" in caplog.text
    assert SECRET not in caplog.text


async def test_the_status_page_names_the_first_node_without_its_key(anvil, world):
    settings = fallback_settings(anvil.url, world.kms.kms_address, dead_url())
    async with asyncio.timeout(BOUND), webhook_client(settings) as client:
        status = (await client.get("/")).json()
    assert status["status"] == "ok"
    assert status["ethRpcUrl"].startswith("http://127.0.0.1:") and SECRET not in status["ethRpcUrl"]


def node(
    chain_id: int, state: dict[str, bool] | None = None, calls: str = "allow"
) -> tuple[httpx.MockTransport, list[list[str]]]:
    """A canned node on `chain_id`: 503 while state["down"]; eth_calls allowed, reverted, or answered with garbage."""
    seen: list[list[str]] = []

    def entry(call: dict[str, Any]) -> dict[str, Any]:
        if call["method"] == "eth_chainId":
            return {"jsonrpc": "2.0", "id": call["id"], "result": hex(chain_id)}
        if calls == "revert":
            return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": 3, "message": "execution reverted"}}
        return {"jsonrpc": "2.0", "id": call["id"], "result": ALLOWED}

    def handle(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        seen.append([call["method"] for call in batch])
        if state is not None and state.get("down"):
            return httpx.Response(503)
        if calls == "garbage" and seen[-1] != ["eth_chainId"]:
            return httpx.Response(200, content=b"<html>bad gateway</html>")
        return httpx.Response(200, json=[entry(call) for call in batch])

    return httpx.MockTransport(handle), seen


def failover_of(*transports: httpx.MockTransport, chain_id: int | None = None) -> FailoverRpc:
    urls = [f"http://node{i}.test/" for i in range(len(transports))]
    clients = [RpcClient(url, timeout=2, transport=t) for url, t in zip(urls, transports, strict=True)]
    return FailoverRpc(urls, timeout=2, chain_id=chain_id, clients=clients)


CALL = [eth_call("0x" + "11" * 20, "0x01")]


async def test_a_fallback_on_another_chain_is_never_asked_for_a_verdict(caplog):
    down: dict[str, bool] = {"down": True}
    first, _ = node(DEV_CHAIN_ID, down)
    testnet, testnet_seen = node(1)
    failover = failover_of(first, testnet, chain_id=DEV_CHAIN_ID)
    for _ in range(2):
        with pytest.raises(RpcError, match="no RPC node answered"):
            await failover.post(CALL)
    await failover.aclose()
    assert testnet_seen == [["eth_chainId"]]  # asked its chain once, then never again
    assert f"serves chain 1, not {DEV_CHAIN_ID}: it is never asked again" in caplog.text


async def test_without_a_configured_chain_the_first_node_sets_it_before_any_fallback_is_asked():
    down: dict[str, bool] = {"down": True}
    first, _ = node(DEV_CHAIN_ID, down)
    same, same_seen = node(DEV_CHAIN_ID)
    failover = failover_of(first, same)
    with pytest.raises(RpcError, match="chain id unknown until the first node answers"):
        await failover.post(CALL)  # the first node is down and nothing says which chain is right
    assert same_seen == []
    down["down"] = False
    assert "result" in (await failover.post(CALL))[0]  # the first node answers: chain known
    down["down"] = True
    assert "result" in (await failover.post(CALL))[0]  # now the fallback is checked, then asked
    await failover.aclose()
    assert same_seen == [["eth_chainId"], ["eth_call"]]


@pytest.mark.parametrize(("answer", "error"), [("revert", None), ("garbage", "RPC answer refused")])
async def test_an_answer_stands_even_when_another_node_might_say_otherwise(answer, error):
    # An error entry or a malformed batch is the node's answer, not a node failure: the webhook fails
    # closed on it rather than asking the second node, which would allow.
    first, _ = node(DEV_CHAIN_ID, calls=answer)
    kinder, kinder_seen = node(DEV_CHAIN_ID)
    failover = failover_of(first, kinder, chain_id=DEV_CHAIN_ID)
    if error is None:
        assert "error" in (await failover.post(CALL))[0]
    else:
        with pytest.raises(RpcError, match=error):
            await failover.post(CALL)
    await failover.aclose()
    assert kinder_seen == []


@pytest.mark.parametrize(("chain_id", "expected"), [(DEV_CHAIN_ID, ALLOW), (1, UNAVAILABLE)])
async def test_a_single_node_on_another_chain_than_the_configured_one_is_refused(
    anvil, world, caplog, chain_id, expected
):
    settings = Settings(rpc_url=anvil.url, kms_address=world.kms.kms_address, chain_id=chain_id)  # type: ignore[arg-type]
    async with asyncio.timeout(BOUND), webhook_client(settings) as client:
        response = await client.post("/bootAuth/app", json=app_request(world.app))
    assert response.json() == expected
    assert (f"serves chain {DEV_CHAIN_ID}, not 1" in caplog.text) == (chain_id == 1)
