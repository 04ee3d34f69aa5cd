"""Telegram HTML: escaping, mentions, the 4096-character limit, splitting long replies."""

from __future__ import annotations

import html
import re

from telegram.constants import CallbackQueryLimit, MessageLimit
from telegram.helpers import mention_html

# Telegram's limits, as python-telegram-bot declares them.
MAX_MESSAGE = int(MessageLimit.MAX_TEXT_LENGTH)
MAX_CAPTION = int(MessageLimit.CAPTION_LENGTH)
MAX_CALLBACK_ANSWER = int(CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH)
_TAG = re.compile(r"<[^>]+>")


def esc(text: object) -> str:
    """Escape any user-supplied or chain-supplied text for ParseMode.HTML (text, not attributes)."""
    return html.escape(str(text), quote=False)


def attr(text: object) -> str:
    """Escape text for an HTML attribute value."""
    return html.escape(str(text), quote=True)


def code(text: object) -> str:
    """Return `text` escaped, in monospace."""
    return f"<code>{esc(text)}</code>"


def bold(text: object) -> str:
    """Return `text` escaped, in bold."""
    return f"<b>{esc(text)}</b>"


def link(url: str, label: object) -> str:
    """Return a link with an escaped label."""
    return f'<a href="{attr(url)}">{esc(label)}</a>'


def mention(user_id: int, name: str) -> str:
    """Return a mention of a Telegram user by id (works without a username)."""
    return mention_html(int(user_id), str(name or user_id))


def short_hex(value: str, keep: int = 6) -> str:
    """Return 0x1234…abcd for long hex, unchanged otherwise."""
    if value.startswith("0x") and len(value) > 2 + 2 * keep + 1:
        return f"{value[: 2 + keep]}…{value[-keep:]}"
    return value


def shorten(text: str, limit: int) -> str:
    """Cut plain text to `limit` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def visible_length(markup: str) -> int:
    """Return the length Telegram counts (UTF-16 units of the text once tags and entities are parsed)."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def fits(markup: str, limit: int = MAX_MESSAGE) -> bool:
    """Return True when the markup is within Telegram's limit.

    Telegram counts the text after parsing; the source (tags and entities included) is never
    shorter, so measuring it errs on the safe side.
    """
    return len(markup.encode("utf-16-le")) // 2 <= limit


def split_lines(markup: str, limit: int = MAX_MESSAGE) -> list[str] | None:
    """Split on line boundaries into chunks that fit; None when a single line is too long.

    Every line the bot renders is self-contained HTML (tags close on the line they open), so
    a split between lines never breaks the markup.
    """
    chunks: list[str] = []
    current = ""
    for line in markup.split("\n"):
        if not fits(line, limit):
            return None
        candidate = f"{current}\n{line}" if current else line
        if fits(candidate, limit):
            current = candidate
            continue
        chunks.append(current)
        current = line
    if current or not chunks:
        chunks.append(current)
    return chunks


def plain(markup: str) -> str:
    """Return the text of `markup` without tags (for a file attachment)."""
    return html.unescape(_TAG.sub("", markup))
