"""Read a request body as JSON bytes, refusing other media types, anything over the size limit, and slow clients."""

from __future__ import annotations

from starlette.types import Receive, Scope

from foundation.request_body import BODY_TIMEOUT_SECONDS, BodyTooLarge, header, read_body

# The largest valid request (128 advisory ids of 256 ASCII characters plus the hex fields) is
# about 34 KiB; 64 KiB leaves room for escapes and for fields the KMS may add.
MAX_BODY_BYTES = 64 * 1024

__all__ = ["BODY_TIMEOUT_SECONDS", "MAX_BODY_BYTES", "is_json_media_type", "read_json_body"]


def is_json_media_type(content_type: bytes | None) -> bool:
    """Accept a missing Content-Type, application/json, and any */*+json (parameters ignored)."""
    if content_type is None:
        return True
    media_type = content_type.split(b";", 1)[0].strip().lower()
    json_suffixed = media_type.startswith(b"application/") and media_type.endswith(b"+json")
    return media_type == b"application/json" or json_suffixed


async def read_json_body(
    scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES, within: float = BODY_TIMEOUT_SECONDS
) -> bytes | None:
    """Return the body, or None when its media type is not JSON or it is larger than `limit` bytes.

    Raise foundation.request_body's BodyTimeout when it has not all arrived within `within` seconds,
    and its ClientGone when the client goes away first.
    """
    headers = scope["headers"]
    if not is_json_media_type(header(headers, b"content-type")):
        return None
    declared = header(headers, b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    try:
        return await read_body(receive, max_bytes=limit, within=within)
    except BodyTooLarge:
        return None
