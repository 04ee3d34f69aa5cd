"""Inline-button callback data: one compact codec, well under Telegram's 64-byte limit.

    encode(Button(Verb.TYPED_DATA, 17)) == "g1:t:17"
    decode("g1:t:17") == Button(Verb.TYPED_DATA, 17)
    decode("anything else") is None   # a stale button (an older format, or garbage)

The "g1" prefix versions the format: buttons on old messages that a later format cannot read
decode to None and are answered as stale instead of being misread.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
PREFIX = "g1"
_PATTERN = re.compile(rf"^{PREFIX}:([a-zA-Z]):([1-9][0-9]{{0,17}})$")


class Verb(enum.StrEnum):
    """What a button asks for."""

    TYPED_DATA = "t"
    DETAILS = "d"
    CANCEL = "c"  # asks for confirmation first
    CANCEL_CONFIRMED = "C"
    KEEP = "k"  # the confirmation's "no": restore the normal buttons
    APPLY_POLICY = "P"  # its number is a plan shown by /plan, not a proposal (bot.handlers.policy)


@dataclass(frozen=True)
class Button:
    """A decoded button press: a verb about one proposal."""

    verb: Verb
    proposal_id: int


def encode(button: Button) -> str:
    """Return the callback data for `button`."""
    data = f"{PREFIX}:{button.verb.value}:{button.proposal_id}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:  # an id of 18 digits still fits; guard anyway
        raise ValueError("callback data longer than Telegram allows")
    return data


def decode(data: str | None) -> Button | None:
    """Return the button `data` encodes, or None when it is stale or malformed."""
    if not data:
        return None
    match = _PATTERN.match(data)
    if match is None:
        return None
    try:
        verb = Verb(match.group(1))
    except ValueError:
        return None
    return Button(verb, int(match.group(2)))


def is_current(data: object) -> bool:
    """Return True when `data` is a button this version understands (a handler pattern)."""
    return isinstance(data, str) and decode(data) is not None
