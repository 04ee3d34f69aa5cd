"""Read a request body as JSON bytes, refusing other media types and anything over the size limit."""

from __future__ import annotations

from starlette.requests import Request

# The largest valid request (128 advisory ids of 256 ASCII characters plus the hex fields) is
# about 34 KiB; 64 KiB leaves room for escapes and for fields the KMS may add.
MAX_BODY_BYTES = 64 * 1024


def is_json_media_type(content_type: str | None) -> bool:
    """Accept a missing Content-Type, application/json, and any */*+json (parameters ignored)."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def read_json_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """Return the body, or None when its media type is not JSON or it is larger than `limit` bytes."""
    if not is_json_media_type(request.headers.get("content-type")):
        return None
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
