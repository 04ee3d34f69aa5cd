"""Refuse request bodies over a size or nesting limit before any endpoint parses them."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.bounded import DEFAULT_MAX_DEPTH, ParseError, check_json_depth

from .errors import error_response

# uvicorn bounds idle keep-alive connections, not a request whose body never finishes: without a
# deadline each such client holds a connection and a task forever. A client gets 408 after this.
BODY_TIMEOUT_SECONDS = 10.0
TOO_LARGE = object()
CLIENT_GONE = object()


class BodyLimit:
    """Buffer the request body up to `max_bytes`; answer 413 beyond it, and 400 if nested too deep.

    Every body the API accepts is JSON, which FastAPI parses with `json.loads`, recursing in C once per
    level; the depth is checked here, on the raw bytes, so no deep body ever reaches the parser.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        max_depth: int = DEFAULT_MAX_DEPTH,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole body (bounded), then hand the app a replay of it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await error_response(400, "bad Content-Length header")(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                whole = await self._read(receive)
        except TimeoutError:
            # Connection: close makes uvicorn drop the connection instead of waiting for the rest.
            message = f"request body not received within {self.body_timeout:g} s"
            await error_response(408, message, {"Connection": "close"})(scope, receive, send)
            return
        if not isinstance(whole, bytes):
            if whole is TOO_LARGE:
                await self._too_large(scope, receive, send)
            return  # or CLIENT_GONE: nobody is left to answer
        try:
            check_json_depth(whole, self.max_depth)
        except ParseError as exc:
            await error_response(400, f"body: {exc.reason}")(scope, receive, send)
            return
        buffered: Message | None = {"type": "http.request", "body": whole, "more_body": False}

        async def replay() -> Message:
            nonlocal buffered
            if buffered is not None:
                message, buffered = buffered, None
                return message
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | object:
        """Return the whole body, or TOO_LARGE, or CLIENT_GONE."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return CLIENT_GONE
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return TOO_LARGE
            chunks.append(body)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{self.max_bytes // 1024} KiB" if self.max_bytes >= 1024 else f"{self.max_bytes} bytes"
        await error_response(413, f"request body larger than {limit}")(scope, receive, send)
