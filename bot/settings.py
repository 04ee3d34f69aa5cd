"""What the bot needs to know, resolved once by the composition root (it never reads the config file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eth_typing import ChecksumAddress

TELEGRAM_API = "https://api.telegram.org/bot"


def file_url_for(base_url: str) -> str:
    """Return the file-download base for a Bot API base URL (`.../bot` -> `.../file/bot`)."""
    trimmed = base_url.rstrip("/")
    if trimmed.endswith("/bot"):
        return trimmed[: -len("bot")] + "file/bot"
    return trimmed + "/file/bot"


@dataclass(frozen=True)
class Roles:
    """Who may do what, by Telegram user id.

    - proposers may /propose and /cancel their own proposals;
    - admins may do that too, and /cancel anyone's;
    - everyone in a signers' chat may read, /link, and /sign (signatures are verified on chain data,
      so a relayed signature counts for its owner, never for the sender).
    """

    proposers: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    def may_propose(self, user_id: int) -> bool:
        """Return True for proposers and admins."""
        return user_id in self.proposers or user_id in self.admins

    def is_admin(self, user_id: int) -> bool:
        """Return True for admins."""
        return user_id in self.admins


@dataclass(frozen=True)
class BotSettings:
    """The bot's settings; `token` is a secret and never appears in repr or logs."""

    token: str = field(repr=False)
    # Safe address -> the signers' chat where its proposals are announced.
    chats: Mapping[ChecksumAddress, int]
    safe_names: Mapping[ChecksumAddress, str] = field(default_factory=dict)
    roles: Roles = Roles()
    base_url: str = TELEGRAM_API
    base_file_url: str = ""
    reminder_interval: float = 6 * 3600.0
    poll_interval: float = 15.0
    # Failed executions whose nonce is still free are retried this often (how many times: the service's setting).
    retry_interval: float = 60.0
    # Long-polling timeout of getUpdates (seconds).
    polling_timeout: float = 10.0
    # First pause before retrying a Bot API call after a network error or 5xx (doubles each time).
    network_backoff: float = 0.5
    explorer_tx_url: str | None = None
    explorer_address_url: str | None = None
    # Public HTTPS URL Telegram posts updates to in webhook mode.
    webhook_url: str | None = None
    # The signing page, a URL template with {id} ([api] public_url + /sign/{id}); when set, announcements
    # get a Sign button.
    signing_url: str | None = None
    # The Mini App's short name (BotFather /newapp); groups then get its t.me direct link.
    mini_app: str | None = None

    def __post_init__(self) -> None:
        if not self.base_file_url:
            object.__setattr__(self, "base_file_url", file_url_for(self.base_url))

    @property
    def allowed_chats(self) -> frozenset[int]:
        """Return the chats the bot serves."""
        return frozenset(self.chats.values())

    def chat_for(self, safe: str) -> int | None:
        """Return the signers' chat of `safe`, if one is configured."""
        for address, chat in self.chats.items():
            if address.lower() == safe.lower():
                return chat
        return None

    def safes_in(self, chat_id: int) -> tuple[ChecksumAddress, ...]:
        """Return the Safes whose signers meet in `chat_id`."""
        return tuple(address for address, chat in self.chats.items() if chat == chat_id)

    def safe_label(self, safe: str) -> str:
        """Return the Safe's configured name, or an empty string."""
        for address, name in self.safe_names.items():
            if address.lower() == safe.lower():
                return name
        return ""
