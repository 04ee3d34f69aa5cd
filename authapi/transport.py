"""The RPC client's default transport: httpx requests sent through one pooled aiohttp session.

httpx's own transport (httpcore on anyio, h11 in pure Python) spends about 0.5 ms of CPU on each
small POST to a local node, five times aiohttp's cost; at a few thousand requests a second that
was most of the webhook's CPU. The client keeps httpx's API, so tests still inject httpx
transports (MockTransport, ASGITransport, a recording wrapper) in its place.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx

# Headers aiohttp derives itself from the URL and the body; the rest (Content-Type, Accept, an
# Authorization built from the URL's userinfo) is forwarded as httpx built it.
_DERIVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})

# aiohttp's failures, as the httpx exceptions RpcClient tells apart (timed out, dropped keep-alive
# connection, anything else unreachable); checked in order, so subclasses come first.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (asyncio.TimeoutError, httpx.ReadTimeout),  # aiohttp's ServerTimeoutError is one too
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
)


def _translate(exc: BaseException) -> httpx.TransportError:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            # Never aiohttp's text: it can carry the URL, and so a key in it.
            return target(f"{type(exc).__name__} from the RPC node")
    return httpx.NetworkError(f"{type(exc).__name__} from the RPC node")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send each request on a pooled keep-alive aiohttp connection; fail as httpx would."""

    def __init__(self, *, timeout: float, max_connections: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop that is running when it is made.
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=60)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, auto_decompress=True, trust_env=False
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and read the whole answer; raise httpx's TransportError kinds on failure."""
        session = self._session or self._open()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _DERIVED]
        url = str(request.url.copy_with(username=None, password=None))
        try:
            async with session.request(request.method, url, data=await request.aread(), headers=headers) as answer:
                status, content = answer.status, await answer.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _translate(exc) from None
        # Only the status and the (already decompressed) body: a Content-Encoding header would make
        # httpx decode the body a second time.
        return httpx.Response(status, content=content, request=request)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
