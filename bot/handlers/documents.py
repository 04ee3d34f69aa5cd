"""Files sent to the chat as documents (proposal files, policy files): fetched and parsed within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from telegram import Document

from bot.context import Services
from proposals.errors import InvalidInput

T = TypeVar("T")

PARSE_TIMEOUT = 10.0


def document_name(document: Document, fallback: str) -> str:
    """Return the document's file name on one line and at most 100 characters (it goes into one-line replies)."""
    return " ".join((document.file_name or "").split())[:100] or fallback


def document_text(data: bytes, name: str, max_bytes: int) -> str:
    """Return a document's UTF-8 text; raise InvalidInput when it is larger than `max_bytes` or not UTF-8."""
    if len(data) > max_bytes:
        raise InvalidInput(f"{name}: larger than {max_bytes // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: not UTF-8 text") from None


async def read_document(
    gov: Services, document: Document, name: str, max_bytes: int, parse: Callable[[bytes, str], T]
) -> T:
    """Download a document of at most `max_bytes` and return `parse(data, name)`, bounded in time."""
    if document.file_size is not None and document.file_size > max_bytes:
        raise InvalidInput(f"{name}: larger than {max_bytes // 1024} KiB")
    telegram_file = await gov.outbox.call("getFile", document.get_file)
    data = await gov.outbox.call("download", telegram_file.download_as_bytearray)
    # Parsed in the core's pool, not on the event loop: the bounds keep a hostile file cheap, and the
    # time bound answers the chat even if some input were still slow (a thread cannot be stopped).
    try:
        return await asyncio.wait_for(gov.core.run(parse, bytes(data), name), PARSE_TIMEOUT)
    except TimeoutError:
        raise InvalidInput(f"{name}: took too long to read; send a smaller or simpler file") from None
