"""Keep URL credentials out of every log line, whichever library writes it.

RPC providers put their key in the URL: in the userinfo (`https://user:pass@host`), the path
(`/v2/<key>`) or the query (`?apikey=<key>`). With `-v`, urllib3, web3, httpx and uvicorn log request
URLs and request lines at DEBUG, and exception texts repeat them. A log record factory sees every
record before any handler does, so one installation covers every logger and every handler:

- the exact parts of each URL passed to `protect_url` (also when they appear on their own, as in
  urllib3's `"POST /v2/<key> HTTP/1.1"`), and
- the userinfo, path and query of any other URL written in full.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "<redacted>"
# A URL written in full: scheme://, then everything up to whitespace, a quote or a bracket, less the
# punctuation that ends a sentence ("URI: <url>, Method: ..." is how web3 logs it).
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()\[\]{}]*[^\s'\"<>()\[\]{},.;:!?]")
_PLAIN = (int, float, bool, type(None))
_secrets: tuple[str, ...] = ()


def redact_url(url: str) -> str:
    """Return scheme://host[:port] only, so credentials in the userinfo, path or query never leak."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:  # a malformed port or IPv6 literal: say nothing about it
        return REDACTED
    return urlunsplit((parts.scheme, host, "", "", ""))


def url_secrets(url: str) -> tuple[str, ...]:
    """Return the parts of `url` that may hold a credential, raw and percent-decoded, longest first."""
    try:
        parts = urlsplit(url)
        password = parts.password or ""
    except ValueError:
        return (url,)
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    found = {userinfo, parts.query, parts.fragment}
    if parts.path not in ("", "/"):
        found.add(parts.path)
    if any(found):  # a plain scheme://host:port stays readable in logs
        found.add(url)
    if len(password) >= 4:  # shorter is no secret worth garbling every log line for
        found.add(password)
    found |= {unquote(s) for s in found}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


def protect_url(url: str) -> None:
    """Redact `url`'s credentials, path and query from every log record from now on."""
    global _secrets
    # Replaced, never mutated: other threads iterate over the tuple they read without a lock.
    _secrets = tuple(sorted(set(_secrets) | set(url_secrets(url)), key=len, reverse=True))


def protect_secret(secret: str) -> None:
    """Redact `secret` (an API key, a token) from every log record from now on."""
    global _secrets
    if len(secret) >= 4:  # shorter is no secret worth garbling every log line for
        _secrets = tuple(sorted({*_secrets, secret}, key=len, reverse=True))


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    try:
        parts = urlsplit(url)
        plain = "@" not in parts.netloc and parts.path in ("", "/") and not parts.query and not parts.fragment
    except ValueError:
        return REDACTED
    if plain:
        return url
    base = redact_url(url)
    return base if base == REDACTED else f"{base}/{REDACTED}"


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """Return `text` without the protected secrets (or `secrets`) and without any URL's credentials."""
    if "://" in text:  # full URLs first, so they keep their scheme and host
        text = _URL.sub(_redact_match, text)
    for secret in _secrets if secrets is None else secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_arg(arg: object) -> object:
    if isinstance(arg, str):
        return redact(arg)
    if isinstance(arg, _PLAIN):
        return arg
    text = str(arg)
    cleaned = redact(text)
    return arg if cleaned == text else cleaned


def scrub(record: logging.LogRecord) -> None:
    """Redact `record`'s message, arguments, traceback and stack in place."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed log call is the logging module's to report
        return
    if redact(message) != message:
        # Arguments are redacted one by one so formatters that unpack them (uvicorn's) still work.
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
            leaked = redact(message) != message
        except Exception:  # noqa: BLE001 - a redacted argument no longer fits its format
            leaked = True
        if leaked:
            record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> Callable[[], None]:
    """Scrub every log record from now on; return the function that undoes it."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scrub(record)
        return record

    logging.setLogRecordFactory(factory)

    def uninstall() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return uninstall
