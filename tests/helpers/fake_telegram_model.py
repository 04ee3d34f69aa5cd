"""The fake Bot API's data: users, recorded calls, chat messages, queued faults, and HTML checks."""

from __future__ import annotations

import email.parser
import email.policy
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler",
                "span", "blockquote", "tg-emoji"}  # fmt: skip
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[^<>]*)?)>")


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass(frozen=True)
class FakeUser:
    """A chat member."""

    id: int
    first_name: str
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    status: int
    at: float


@dataclass
class ChatMessage:
    """A message in a chat, as it currently looks."""

    chat_id: int
    message_id: int
    text: str  # the HTML source the bot sent (or the user's text)
    from_bot: bool
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    document: tuple[str, bytes] | None = None
    caption: str | None = None
    history: list[tuple[float, str]] = field(default_factory=list)  # (when, text) of every version

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Return the inline buttons, row by row flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button_data(self, label_part: str) -> str:
        """Return the callback data of the button whose label contains `label_part`."""
        for button in self.buttons:
            if label_part.lower() in button["text"].lower() and "callback_data" in button:
                return str(button["callback_data"])
        raise AssertionError(f"no button {label_part!r} on message {self.message_id}: {self.buttons}")


@dataclass
class Fault:
    """An error to answer `method` with, `times` times."""

    method: str
    status: int
    description: str
    retry_after: int | None
    times: int


def check_html(text: str) -> str:
    """Return the visible text of Telegram HTML, or raise ApiError as Telegram would."""
    stack: list[str] = []
    position = 0
    visible = []
    for match in re.finditer(r"[<&]", text):
        start = match.start()
        if start < position:
            continue
        visible.append(text[position:start])
        if text[start] == "&":
            entity = _ENTITY.match(text, start)
            if entity is None:
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported entity at byte offset {start}")
            visible.append(html.unescape(entity.group(0)))
            position = entity.end()
            continue
        tag = _TAG.match(text, start)
        if tag is None:
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected '<' at byte offset {start}")
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in ALLOWED_TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: unsupported start tag "{name}"')
        if closing:
            if not stack or stack.pop() != name:
                raise ApiError(400, f'Bad Request: can\'t parse entities: unmatched end tag "{name}"')
        else:
            stack.append(name)
        position = tag.end()
    visible.append(text[position:])
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: can't find end tag corresponding to \"{stack[-1]}\"")
    return "".join(visible)


def length(text: str) -> int:
    """Return a text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Return the parameters and files of a Bot API request (form, multipart or JSON)."""
    if content_type.startswith("multipart/form-data"):
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for part in parsed.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            content = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = (str(part.get_filename()), bytes(content))
            else:
                params[name] = bytes(content).decode()
        return params, files
    if content_type.startswith("application/json") and body:
        return dict(json.loads(body)), {}
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}, {}
