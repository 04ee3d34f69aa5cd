"""The signing page's settings, read once from the config: its public URL and the Telegram trust."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from dstack_gov.api.telegram import Linker, TelegramAuth
from dstack_gov.config import Config


def signing_url(config: Config) -> str | None:
    """Return the page's URL template (`<[api] public_url>/sign/{id}`), or None when no public URL is set."""
    public = config.api.public_url
    return None if not public else public.rstrip("/") + "/sign/{id}"


def bot_token(config: Config, environ: Mapping[str, str]) -> str | None:
    """Return the bot token if one is configured (telegram.token, else the env var telegram.token_env names)."""
    section = config.telegram
    token = section.token.get_secret_value() if section.token else environ.get(section.token_env, "")
    return token.strip() or None


def telegram_auth(config: Config, environ: Mapping[str, str], linker: Linker | None = None) -> TelegramAuth | None:
    """Return what the API needs to check Mini App initData (None without a bot token: initData is refused)."""
    token = bot_token(config, environ)
    if token is None:
        return None
    return TelegramAuth(token, max_age=timedelta(seconds=config.telegram.init_data_max_age), linker=linker)
