"""The webhook's ASGI plumbing: exact-path routes, whole replies, the lifespan protocol.

The webhook has four fixed routes and answers each request with one small body. Starlette's router,
request and response objects and its two middlewares cost about a fifth of the CPU of a cached
answer (measured with bench/authapi), for features none of these routes use, so the app speaks ASGI
directly: a dict lookup routes, and a reply is two `send` calls.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import SimpleNamespace

from starlette.types import Receive, Scope, Send

log = logging.getLogger("authapi")

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole HTTP answer: status, body, media type and any extra headers (lower-case names)."""

    status: int
    body: bytes
    media_type: bytes = JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()


Handler = Callable[[Scope, Receive], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """The handler of one path, and the methods it takes (HEAD comes with GET)."""

    handler: Handler
    methods: frozenset[str]


NOT_FOUND = Reply(404, b"Not Found", TEXT)
SERVER_ERROR = Reply(500, b"Internal Server Error", TEXT)


async def send_reply(send: Send, reply: Reply) -> None:
    """Send `reply` as one response (Content-Length, Content-Type, then its own headers)."""
    headers = [(b"content-length", b"%d" % len(reply.body)), (b"content-type", reply.media_type), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


class App:
    """An ASGI app over a fixed table of routes; `state` carries what tests and callers reach for."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        lifespan: Callable[[], AbstractAsyncContextManager[None]],
        state: SimpleNamespace,
    ) -> None:
        self.routes = dict(routes)
        self.lifespan = lifespan
        self.state = state
        self._not_allowed = {path: _method_not_allowed(route) for path, route in self.routes.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request, or run the lifespan; refuse websockets."""
        kind = scope["type"]
        if kind == "http":
            await send_reply(send, await self._answer(scope, receive))
        elif kind == "lifespan":
            await self._run_lifespan(receive, send)
        else:
            await send({"type": "websocket.close", "code": 1000})

    async def _answer(self, scope: Scope, receive: Receive) -> Reply:
        path = scope["path"]
        route = self.routes.get(path)
        if route is None:
            return NOT_FOUND
        if scope["method"] not in route.methods:
            return self._not_allowed[path]
        try:
            return await route.handler(scope, receive)
        except Exception as exc:
            # Handlers fail closed themselves; this only catches a defect, which must not leak a traceback.
            log.error("%s %s failed unexpectedly (%s)", scope["method"], path, type(exc).__name__,
                      exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip
            return SERVER_ERROR

    async def _run_lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        context = self.lifespan()
        try:
            await context.__aenter__()
        except Exception as exc:
            log.error("startup failed (%s)", type(exc).__name__, exc_info=True)
            await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await context.__aexit__(None, None, None)
        except Exception as exc:
            log.error("shutdown failed (%s)", type(exc).__name__, exc_info=True)
            await send({"type": "lifespan.shutdown.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.shutdown.complete"})


def _method_not_allowed(route: Route) -> Reply:
    allowed = ", ".join(sorted(route.methods)).encode()
    return Reply(405, b"Method Not Allowed", TEXT, ((b"allow", allowed),))


def route(handler: Handler, *methods: str) -> Route:
    """Return a route taking `methods`, plus HEAD where GET is taken (as HTTP expects)."""
    taken = set(methods) | ({"HEAD"} if "GET" in methods else set())
    return Route(handler, frozenset(taken))
