"""How every HTTP server of the project runs under uvicorn, with a deadline for request heads.

uvicorn closes idle keep-alive connections, but not one whose request line and headers never finish
arriving: a client that opens connections and trickles a header byte now and then ("slowloris")
holds each of them, and a file descriptor, for as long as it likes. HeadTimeoutProtocol closes a
connection whose request head has not arrived within HEAD_TIMEOUT_SECONDS of the connection opening
or of the request's first byte. One timer per event loop checks every connection once a second,
so a request pays an attribute write, not a timer. The body has its own deadline (request_body.py).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("dstack_gov.http")

HEAD_TIMEOUT_SECONDS = 10.0
SWEEP_SECONDS = 1.0


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose request head is too slow to arrive."""

    head_timeout = HEAD_TIMEOUT_SECONDS
    # Loop time the head being awaited began (the connection, or the request's first byte); None
    # while a request is being handled or the connection idles between requests (uvicorn's keep-alive
    # timeout covers that).
    head_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the head deadline as the connection opens."""
        super().connection_made(transport)
        self.head_since = self.loop.time()
        _sweeper(self.loop).watch(self)

    def on_message_begin(self) -> None:
        """Start the head deadline of a request on a kept-alive connection."""
        super().on_message_begin()
        if self.head_since is None:
            self.head_since = self.loop.time()

    def on_headers_complete(self) -> None:
        """Stop the head deadline: the body has its own."""
        self.head_since = None
        super().on_headers_complete()

    def close_if_late(self, now: float) -> bool:
        """Close the connection if its head is overdue; return whether it was."""
        if self.head_since is None or now - self.head_since <= self.head_timeout:
            return False
        log.info("closed a connection whose request head did not arrive within %g s", self.head_timeout)
        self.head_since = None
        self.transport.close()
        return True


class _Sweeper:
    """The connections of one event loop, checked once a second while any is open."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connections: weakref.WeakSet[HeadTimeoutProtocol] = weakref.WeakSet()
        self.handle: asyncio.TimerHandle | None = None

    def watch(self, connection: HeadTimeoutProtocol) -> None:
        self.connections.add(connection)
        if self.handle is None:
            self.handle = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        self.handle = None
        now = self.loop.time()
        for connection in list(self.connections):
            if connection.transport.is_closing():
                self.connections.discard(connection)
            else:
                connection.close_if_late(now)
        if self.connections:
            self.handle = self.loop.call_later(SWEEP_SECONDS, self._sweep)


_sweepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweeper] = weakref.WeakKeyDictionary()


def _sweeper(loop: asyncio.AbstractEventLoop) -> _Sweeper:
    sweeper = _sweepers.get(loop)
    if sweeper is None:
        sweeper = _sweepers[loop] = _Sweeper(loop)
    return sweeper


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """Return uvicorn's config for `app` as the project serves it; `options` add to or override it.

    The caller's logging setup is kept, no access log, no Server header, no proxy headers trusted,
    and request heads get a deadline (HeadTimeoutProtocol).
    """
    settings: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "http": HeadTimeoutProtocol,
    }
    settings.update(options)
    return uvicorn.Config(app, **settings)
