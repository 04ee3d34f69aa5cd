"""Read a request body as JSON bytes, refusing other media types, anything over the size limit, and slow clients."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

# The largest valid request (128 advisory ids of 256 ASCII characters plus the hex fields) is
# about 34 KiB; 64 KiB leaves room for escapes and for fields the KMS may add.
MAX_BODY_BYTES = 64 * 1024
# The KMS sends its few KiB at once. uvicorn bounds idle keep-alive connections, not a request whose
# body never finishes, so without a deadline each such client holds a connection and a task forever.
BODY_TIMEOUT_SECONDS = 10.0


class BodyTimeout(Exception):
    """The client did not send the whole body before the deadline."""


def is_json_media_type(content_type: str | None) -> bool:
    """Accept a missing Content-Type, application/json, and any */*+json (parameters ignored)."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def read_json_body(
    request: Request, limit: int = MAX_BODY_BYTES, within: float = BODY_TIMEOUT_SECONDS
) -> bytes | None:
    """Return the body, or None when its media type is not JSON or it is larger than `limit` bytes.

    Raise BodyTimeout when it has not all arrived within `within` seconds, and starlette's
    ClientDisconnect when the client goes away first.
    """
    if not is_json_media_type(request.headers.get("content-type")):
        return None
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    return None
    except TimeoutError:
        raise BodyTimeout(f"request body not received within {within:g} s") from None
    return bytes(body)
