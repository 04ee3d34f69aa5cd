"""How Telegram users are named in the core's records (proposer, signature source, audit actor)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ACTOR = 200  # the store's proposer/actor columns
_ACTOR = re.compile(r"^telegram:(\d+)(?::(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class TelegramActor:
    """A Telegram user as the core records them: `telegram:<id>:<display name>`."""

    user_id: int
    name: str

    def __str__(self) -> str:
        return f"telegram:{self.user_id}:{self.name}"[:MAX_ACTOR]

    @property
    def source(self) -> str:
        """Return the short form used as a signature's source."""
        return f"telegram:{self.user_id}"


def parse_actor(text: str) -> TelegramActor | None:
    """Return the Telegram user behind a recorded actor, or None for other front ends."""
    match = _ACTOR.match(text)
    if match is None:
        return None
    return TelegramActor(int(match.group(1)), match.group(2) or "")


def display_name(first_name: str | None, last_name: str | None, username: str | None, user_id: int) -> str:
    """Return how to call a user: their name, else @username, else the id."""
    full = " ".join(part for part in (first_name, last_name) if part).strip()
    if full:
        return full
    return f"@{username}" if username else str(user_id)
