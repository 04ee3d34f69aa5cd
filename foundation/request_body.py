"""Read an ASGI request body whole, within a size limit and a deadline (the API and the webhook share it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from . import deadline

# ASGI's receive callable, spelled out: foundation imports no web framework.
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

# uvicorn bounds idle keep-alive connections, not a request whose body never finishes: without a
# deadline each such client would hold a connection and a task forever.
BODY_TIMEOUT_SECONDS = 10.0


class BodyTooLarge(Exception):
    """The body is longer than the limit (declared, or as it arrived)."""


class BodyTimeout(Exception):
    """The whole body did not arrive before the deadline."""


class ClientGone(Exception):
    """The client disconnected before sending its whole body: nobody is left to answer."""


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """Return the first value of header `name` (lower case) in an ASGI scope's headers, or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


async def read_body(receive: Receive, *, max_bytes: int, within: float = BODY_TIMEOUT_SECONDS) -> bytes:
    """Return the whole body; raise BodyTooLarge past `max_bytes`, BodyTimeout after `within` s, or ClientGone."""
    try:
        async with deadline.within(within):
            return await _read(receive, max_bytes)
    except TimeoutError:
        raise BodyTimeout(f"request body not received within {within:g} s") from None


async def _read(receive: Receive, max_bytes: int) -> bytes:
    message = await receive()
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientGone
        body = message.get("body", b"")
        size += len(body)
        if size > max_bytes:
            raise BodyTooLarge
        if not message.get("more_body", False):
            # Nearly every body arrives in one message: no copy then.
            return body if not chunks else b"".join((*chunks, body))
        chunks.append(body)
        message = await receive()
