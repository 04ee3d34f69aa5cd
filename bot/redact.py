"""Keep the bot token out of every log line, whoever logs it (PTB and httpx print URLs with it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

REDACTED = "<redacted>"
# httpx logs every request URL at INFO, and Bot API URLs carry the token.
CHATTY_LOGGERS = ("httpx", "httpcore")


def redact(text: str, secrets: Sequence[str]) -> str:
    """Return `text` with every secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def install_redaction(secrets: Sequence[str]) -> Callable[[], None]:
    """Redact `secrets` from every log record from now on; return the function that undoes it."""
    secrets = tuple(s for s in secrets if s)
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed log call is the logging module's to report
            return record
        if any(s in message for s in secrets):
            record.msg, record.args = redact(message, secrets), None
        if record.exc_info:
            text = formatter.formatException(record.exc_info)
            if any(s in text for s in secrets):
                record.exc_text = redact(text, secrets)
        return record

    logging.setLogRecordFactory(factory)
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, levels[name]))

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    return uninstall
