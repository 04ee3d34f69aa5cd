"""Telegram Mini App `initData`: check it was signed by Telegram for our bot, recently.

Telegram's "Validating data received via the Mini App":
- secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token);
- data_check_string = every received field except `hash`, as `k=v`, sorted by key, joined by "\\n";
- valid when hex(HMAC_SHA256(key=secret_key, msg=data_check_string)) == hash.

Newer clients also send `signature` (Ed25519, for third parties that do not hold the token). It is a
field like any other here, so the HMAC covers it; the Ed25519 check adds nothing for a server that
holds the token, so it is not done.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from proposals.errors import InvalidInput, Unauthorized

MAX_INIT_DATA = 4096  # Telegram's initData is well under 1 KiB; anything this long is not from Telegram
DEFAULT_MAX_AGE = timedelta(hours=1)
MAX_ACTOR = 200  # the store's actor column


class InitDataRefused(Unauthorized):
    """initData that is forged, stale, or not Telegram's (the message says which)."""


@dataclass(frozen=True)
class TelegramUser:
    """The Telegram user a valid initData names."""

    user_id: int
    name: str
    start_param: str = ""

    @property
    def actor(self) -> str:
        """Return the user as the core records Telegram users (the bot's `telegram:<id>:<name>`)."""
        return f"telegram:{self.user_id}:{self.name}"[:MAX_ACTOR]

    @property
    def source(self) -> str:
        """Return the short form used as a signature's source."""
        return f"page:telegram:{self.user_id}"


def secret_key(bot_token: str) -> bytes:
    """Return the key initData is signed with for this bot."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Return the string Telegram signs: every field but `hash`, sorted, `k=v` per line."""
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """Return the `hash` Telegram would put on `fields` (tests and local tools build initData with it)."""
    return hmac.new(secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def _fields(raw: str) -> dict[str, str]:
    if len(raw) > MAX_INIT_DATA:
        raise InitDataRefused(f"Telegram initData longer than {MAX_INIT_DATA} characters")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True, max_num_fields=64)
    except ValueError:
        raise InitDataRefused("Telegram initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRefused("Telegram initData repeats a field")
    return fields


def _user(fields: dict[str, str]) -> tuple[int, str]:
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError):
        raise InitDataRefused("Telegram initData names no user") from None
    parts = [str(user.get(k) or "") for k in ("first_name", "last_name")]
    name = " ".join(p for p in parts if p).strip()
    if not name:
        name = f"@{user['username']}" if user.get("username") else str(user_id)
    return user_id, name


def validate_init_data(
    raw: str, bot_token: str, *, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE
) -> TelegramUser:
    """Return the user `raw` names if Telegram signed it for this bot within `max_age`; else InitDataRefused."""
    if not raw:
        raise InvalidInput("Telegram initData is empty")
    fields = _fields(raw)
    given = fields.get("hash", "")
    expected = sign_init_data(fields, bot_token)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataRefused("Telegram initData is not signed for this bot (forged, or from another bot)")
    try:
        signed_at = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise InitDataRefused("Telegram initData has no auth_date") from None
    age = now.timestamp() - signed_at
    if age > max_age.total_seconds():
        raise InitDataRefused(
            f"Telegram initData is {int(age // 60)} minutes old (the limit is {int(max_age.total_seconds() // 60)}); "
            "close the Mini App and open it again"
        )
    user_id, name = _user(fields)
    return TelegramUser(user_id, name, fields.get("start_param", ""))
