"""Keep the bot token out of every log line, whoever logs it (PTB and httpx print URLs with it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from foundation.redaction import install_log_redaction, protect_secret

# httpx logs every request URL at INFO, and Bot API URLs carry the token.
CHATTY_LOGGERS = ("httpx", "httpcore")


def install_redaction(secrets: Sequence[str]) -> Callable[[], None]:
    """Redact `secrets` from every log record from now on; return the function that undoes the quieting."""
    for secret in secrets:
        if secret:
            protect_secret(secret)  # stays protected: a token never becomes safe to log
    unscrub = install_log_redaction()
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, levels[name]))

    def uninstall() -> None:
        unscrub()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    return uninstall
