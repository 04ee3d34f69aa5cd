"""The RPC connection: JSON-RPC batches POSTed over one pooled keep-alive httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from dstack_gov.config import redact_url

from .jsonrpc import Call, RpcError, encode_batch, parse_batch

# Enough keep-alive connections for every request in flight at once under heavy load, so a burst
# never pays for new TCP (or TLS) handshakes; beyond this, requests queue for a free connection.
MAX_CONNECTIONS = 128


class RpcClient:
    """Send JSON-RPC batches to one node; every failure becomes an RpcError with a safe reason."""

    def __init__(self, url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.label = redact_url(url)
        self._next_id = 1
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Send `calls` in one HTTP POST and return their results in order."""
        first_id = self._next_id
        self._next_id += len(calls)
        try:
            response = await self._client.post(self.url, content=encode_batch(calls, first_id))
        except httpx.TimeoutException:
            raise RpcError("RPC node timed out") from None
        except httpx.HTTPError as exc:
            # The exception text can carry the full URL (and any key in it); say only what kind it was.
            raise RpcError(f"RPC node unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise RpcError(f"RPC node answered HTTP {response.status_code}")
        return parse_batch(response.content, first_id, len(calls))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()
