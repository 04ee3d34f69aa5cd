"""The RPC connection: JSON-RPC batches POSTed over one pooled keep-alive httpx.AsyncClient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from foundation.redaction import protect_url, redact_url

from .jsonrpc import Call, RpcError, encode_batch, parse_entries

# Batching keeps few POSTs in flight (see batching.py); the pool only needs a little more.
MAX_CONNECTIONS = 16
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class RpcClient:
    """Send JSON-RPC batches to one node; every failure becomes an RpcError with a safe reason."""

    def __init__(self, url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.label = redact_url(url)
        protect_url(url)  # httpx logs every request URL, key included
        self._next_id = 1
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    async def post(self, calls: Sequence[Call]) -> list[dict[str, Any]]:
        """Send `calls` in one HTTP POST; return their answer entries in order (results or errors)."""
        first_id = self._next_id
        self._next_id += len(calls)
        body = encode_batch(calls, first_id)
        try:
            try:
                response = await self._client.post(self.url, content=body)
            except _DROPPED:
                # A keep-alive connection the node closed just as we reused it: the calls are
                # read-only, so send them once more on a fresh connection.
                response = await self._client.post(self.url, content=body)
        except httpx.TimeoutException:
            raise RpcError("RPC node timed out") from None
        except httpx.HTTPError as exc:
            # The exception text can carry the full URL (and any key in it); say only what kind it was.
            raise RpcError(f"RPC node unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise RpcError(f"RPC node answered HTTP {response.status_code}")
        return parse_entries(response.content, first_id, len(calls))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()
