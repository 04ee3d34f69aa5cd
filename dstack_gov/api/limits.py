"""Refuse request bodies over a size or nesting limit before any endpoint parses them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.bounded import DEFAULT_MAX_DEPTH, ParseError, check_json_depth

from .errors import error_response


class BodyLimit:
    """Buffer the request body up to `max_bytes`; answer 413 beyond it, and 400 if nested too deep.

    Every body the API accepts is JSON, which FastAPI parses with `json.loads`, recursing in C once per
    level; the depth is checked here, on the raw bytes, so no deep body ever reaches the parser.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

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
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
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

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{self.max_bytes // 1024} KiB" if self.max_bytes >= 1024 else f"{self.max_bytes} bytes"
        await error_response(413, f"request body larger than {limit}")(scope, receive, send)
