"""What keeps the webhook's tail short: a frozen startup heap, and the lean HTTP/1.1 RPC pool by default."""

from __future__ import annotations

import asyncio
import base64
import gc
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from authapi import Settings, create_app
from authapi.http1 import Http1Pool
from authapi.jsonrpc import eth_call
from authapi.rpc import RpcClient

pytestmark = pytest.mark.asyncio

KMS = "0x" + "11" * 20


async def test_the_startup_heap_is_frozen_while_the_app_runs():
    # Without the freeze, each full collection walks every object web3 & co. left behind: 50-80 ms
    # during which no request moves, the p99 at concurrency 64.
    app = create_app(Settings(rpc_url="http://127.0.0.1:9", kms_address=KMS))  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0
    async with app.lifespan():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # a test process (or any host) gets its collector back


@dataclass
class Node:
    """A loopback HTTP server that records each request and answers a JSON-RPC batch, gzipped."""

    url: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def gzip_node() -> AsyncIterator[Node]:
    node = Node()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            line, *rest = head.decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
            node.requests.append((line, headers))
            batch = json.loads(await reader.readexactly(int(headers["content-length"])))
            entries = [{"jsonrpc": "2.0", "id": c["id"], "result": "0x"} for c in batch]
            answer = gzip.compress(json.dumps(entries).encode())
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    node.url = f"http://user:pa%24%24@127.0.0.1:{port}/v2/key?apikey=k"
    try:
        yield node
    finally:
        server.close()


async def test_the_default_pool_keeps_path_query_and_credentials_and_reads_gzip(gzip_node):
    client = RpcClient(gzip_node.url, timeout=5)
    # The httpx-over-aiohttp transport it replaces cost three times its CPU per POST (authapi/http1.py)
    assert isinstance(getattr(client._send, "__self__", None), Http1Pool)
    try:
        for _ in range(2):
            entries = await client.post([eth_call(KMS, "0x01"), ("eth_blockNumber", [])])
            assert [e["result"] for e in entries] == ["0x", "0x"]
    finally:
        await client.aclose()
    (first, headers), (second, _) = gzip_node.requests
    assert first == second == "POST /v2/key?apikey=k HTTP/1.1"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"user:pa$$").decode()
    assert headers["content-type"] == "application/json"
