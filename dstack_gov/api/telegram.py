"""Requests from the signing page running as a Telegram Mini App: who the Telegram user is.

The page sends Telegram's `initData` in the `X-Telegram-Init-Data` header. With a bot token configured the
API checks it (dstack_gov.telegram_init_data) and records the user with the signature; forged or stale
initData is refused. Without the header a signature stands on its own (it must come from an owner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from eth_typing import ChecksumAddress
from fastapi import Request

from dstack_gov.telegram_init_data import DEFAULT_MAX_AGE, TelegramUser, validate_init_data
from proposals.errors import InvalidInput

from .context import api_context

INIT_DATA_HEADER = "X-Telegram-Init-Data"


class Linker(Protocol):
    """Links a Telegram user to an owner address through a signed challenge (the bot's /link)."""

    def challenge(self, user: TelegramUser, owner: ChecksumAddress, safe: ChecksumAddress) -> str:
        """Return a fresh challenge text for `user` to sign with `owner`'s key (personal_sign)."""
        ...

    def complete(self, user: TelegramUser, owner: ChecksumAddress, signature: str, safe: ChecksumAddress) -> None:
        """Check the signed challenge and store the link."""
        ...


@dataclass(frozen=True)
class TelegramAuth:
    """What the API needs to trust a Mini App's initData; `bot_token` is a secret (never in repr)."""

    bot_token: str = field(repr=False)
    max_age: timedelta = DEFAULT_MAX_AGE
    # Present in `dstack-gov run` (the bot's store holds the links); absent, the page offers no linking.
    linker: Linker | None = None
    # Called with the user once a link is stored (the bot refreshes the announcements that mention owners).
    on_linked: Callable[[TelegramUser], None] | None = None


def telegram_user(request: Request, raw: str | None = None) -> TelegramUser | None:
    """Return the Telegram user behind the request's initData (None without any); refuse bad initData."""
    raw = request.headers.get(INIT_DATA_HEADER, "") if raw is None else raw
    if not raw:
        return None
    context = api_context(request)
    auth = context.telegram
    if auth is None:
        raise InvalidInput("this server takes no Telegram initData (no bot token is configured)")
    return validate_init_data(raw, auth.bot_token, now=context.service.clock(), max_age=auth.max_age)
