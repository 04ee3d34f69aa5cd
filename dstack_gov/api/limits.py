"""Refuse request bodies over a size or nesting limit before any endpoint parses them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.bounded import DEFAULT_MAX_DEPTH, ParseError, check_json_depth
from foundation.request_body import BODY_TIMEOUT_SECONDS, BodyTimeout, BodyTooLarge, ClientGone, header, read_body

from .errors import error_response

__all__ = ["BODY_TIMEOUT_SECONDS", "BodyLimit"]


class BodyLimit:
    """Buffer the request body up to `max_bytes`; answer 413 beyond it, and 400 if nested too deep.

    Every body the API accepts is JSON, which FastAPI parses with `json.loads`, recursing in C once per
    level; the depth is checked here, on the raw bytes, so no deep body ever reaches the parser. A
    client that has not sent its whole body within `body_timeout` seconds gets 408.
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
        declared = header(scope.get("headers", ()), b"content-length")
        if declared is not None and not declared.isdigit():
            await error_response(400, "bad Content-Length header")(scope, receive, send)
            return
        try:
            if declared is not None and int(declared) > self.max_bytes:
                raise BodyTooLarge
            whole = await read_body(receive, max_bytes=self.max_bytes, within=self.body_timeout)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        except BodyTimeout as exc:
            # Connection: close makes uvicorn drop the connection instead of waiting for the rest.
            await error_response(408, str(exc), {"Connection": "close"})(scope, receive, send)
            return
        except ClientGone:
            return  # nobody is left to answer
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
