"""httpx transports for the webhook's RPC side: record real traffic, or answer with canned batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from eth_abi.abi import encode

from authapi.http1 import Http1Pool, PostError, PostTimeout


class RecordingTransport(httpx.AsyncBaseTransport):
    """Pass requests to the webhook's own HTTP/1.1 pool and keep each JSON-RPC batch that was sent."""

    def __init__(self) -> None:
        self.pool: Http1Pool | None = None  # made on the first request, for its URL
        self.batches: list[list[dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.batches.append(json.loads(body))
        if self.pool is None:
            self.pool = Http1Pool(str(request.url), timeout=10, max_connections=4)
        try:
            status, content = await self.pool.post(body)
        except PostTimeout:
            raise httpx.ReadTimeout("timed out", request=request) from None
        except PostError as exc:
            raise httpx.ConnectError(exc.reason, request=request) from None
        return httpx.Response(status, content=content, request=request)

    def methods(self) -> list[list[str]]:
        """Return the method names of every batch, in order."""
        return [[call["method"] for call in batch] for batch in self.batches]

    def calls(self) -> list[list[str]]:
        """Return the method names of every batch, leaving out the head poller's eth_blockNumber."""
        batches = [[m for m in batch if m != "eth_blockNumber"] for batch in self.methods()]
        return [batch for batch in batches if batch]

    def blocks(self) -> list[list[str]]:
        """Return the block parameter of every eth_call, batch by batch (batches without one left out)."""
        blocks = [[c["params"][1] for c in batch if c["method"] == "eth_call"] for batch in self.batches]
        return [batch for batch in blocks if batch]

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()


Answer = Callable[[list[dict[str, Any]]], httpx.Response]


def canned(answer: Answer) -> tuple[httpx.MockTransport, list[list[dict[str, Any]]]]:
    """Return a transport that answers each batch with `answer(batch)`, and the list of batches seen."""
    seen: list[list[dict[str, Any]]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        seen.append(batch)
        return answer(batch)

    return httpx.MockTransport(handle), seen


def hex_of(types: list[str], values: list[Any]) -> str:
    """ABI-encode `values` as an eth_call result."""
    return "0x" + encode(types, values).hex()


ALLOWED = hex_of(["bool", "string"], [True, ""])
GATEWAY = hex_of(["string"], ["gw-from-mock"])


def results(*values: Any) -> Answer:
    """Answer every batch with these results, one per call, ids matched."""

    def answer(batch: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(
            200, json=[{"jsonrpc": "2.0", "id": c["id"], "result": v} for c, v in zip(batch, values, strict=False)]
        )

    return answer


def raw(content: bytes, status: int = 200) -> Answer:
    """Answer every batch with these bytes."""
    return lambda batch: httpx.Response(status, content=content)


def entries(build: Callable[[list[int]], list[Any]]) -> Answer:
    """Answer with the JSON `build(ids)` makes from the request ids."""
    return lambda batch: httpx.Response(200, json=build([c["id"] for c in batch]))
