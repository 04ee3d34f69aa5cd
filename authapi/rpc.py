"""The RPC connection: JSON-RPC batches POSTed to one node over pooled keep-alive connections."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from foundation.redaction import protect_url, redact_url

from .http1 import Http1Pool, PostError, PostTimeout
from .jsonrpc import Call, RpcError, encode_batch, parse_entries

# Batching keeps few POSTs in flight (see batching.py); the pool only needs a little more.
MAX_CONNECTIONS = 16
log = logging.getLogger("authapi")
_DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class RpcClient:
    """Send JSON-RPC batches to one node; every failure becomes an RpcError with a safe reason.

    By default the batches go through the lean HTTP/1.1 pool (http1.py). Tests inject an httpx
    transport instead (MockTransport, ASGITransport, a recording wrapper), reached through the
    same two calls: post the body, and close.
    """

    def __init__(self, url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.label = redact_url(url)
        protect_url(url)  # a library that logs request URLs must not log the key in this one
        self._next_id = 1
        self._send: Callable[[bytes], Awaitable[tuple[int, bytes]]]
        self._close: Callable[[], Awaitable[None]]
        if transport is None:
            pool = Http1Pool(url, timeout=timeout, max_connections=MAX_CONNECTIONS)
            self._send, self._close = pool.post, pool.aclose
        else:
            self._send, self._close = _HttpxPost(url, timeout, transport), transport.aclose

    async def post(self, calls: Sequence[Call]) -> list[dict[str, Any]]:
        """Send `calls` in one HTTP POST; return their answer entries in order (results or errors)."""
        first_id = self._next_id
        self._next_id += len(calls)
        body = encode_batch(calls, first_id)
        try:
            status, content = await self._send(body)
        except PostTimeout:
            raise RpcError("RPC node timed out", node_failure="timeout") from None
        except PostError as exc:
            raise RpcError(f"RPC node unreachable ({exc.reason})", node_failure="connection") from None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("RPC POST to %s: %d calls, HTTP %d, %d bytes", self.label, len(calls), status, len(content))
        if status != 200:
            failure = "http_429" if status == 429 else "http_5xx" if status >= 500 else None
            raise RpcError(f"RPC node answered HTTP {status}", node_failure=failure)
        return parse_entries(content, first_id, len(calls))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._close()


class _HttpxPost:
    """POST through an injected httpx transport; its failures become PostErrors, as the pool's are."""

    def __init__(self, url: str, timeout: float, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self._url = httpx.URL(url)
        self._headers = _headers(self._url)
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    async def __call__(self, body: bytes) -> tuple[int, bytes]:
        try:
            try:
                return await self._exchange(body)
            except _DROPPED:
                # A keep-alive connection the node closed just as we reused it: the calls are
                # read-only, so send them once more on a fresh connection.
                return await self._exchange(body)
        except httpx.TimeoutException:
            raise PostTimeout("timed out") from None
        except httpx.HTTPError as exc:
            # The exception text can carry the full URL (and any key in it); say only what kind it was.
            raise PostError(type(exc).__name__) from None

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        request = httpx.Request("POST", self._url, content=body, headers=self._headers, extensions=self._extensions)
        response = await self._transport.handle_async_request(request)
        try:
            return response.status_code, await response.aread()
        finally:
            await response.aclose()


def _headers(url: httpx.URL) -> dict[str, str]:
    """Return the headers of every POST, with Basic auth from the URL's userinfo as httpx would add it."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if url.username or url.password:
        template = httpx.Request("POST", url)
        authorized = next(httpx.BasicAuth(url.username, url.password).auth_flow(template))
        headers["Authorization"] = authorized.headers["Authorization"]
    return headers
