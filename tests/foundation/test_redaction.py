"""Unit checks of the log scrubber: every place an RPC key can sit in a URL, and records stay formattable."""

from __future__ import annotations

import logging

import pytest

from foundation.redaction import REDACTED, protect_url, redact, redact_url, scrub, url_secrets

URL = "https://alice:pa%24%24word-1@rpc.example:8545/v2/pathkey-123?apikey=q-456&x=1"
SECRETS = ("pa$$word-1", "pa%24%24word-1", "pathkey-123", "q-456")


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("test", logging.DEBUG, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"URI: {URL}, Method: eth_call", f"URI: https://rpc.example:8545/{REDACTED}, Method: eth_call"),
        (
            "see http://127.0.0.1:8545 and http://127.0.0.1:8545/",
            "see http://127.0.0.1:8545 and http://127.0.0.1:8545/",
        ),
        ("wss://u:p@node.example/ws", f"wss://node.example/{REDACTED}"),
        ("at http://u:p@host:99999/x now", f"at {REDACTED} now"),
    ],
)
def test_full_urls_keep_only_scheme_and_host(text, expected):
    assert redact(text, ()) == expected


def test_protected_url_parts_are_redacted_wherever_they_appear():
    protect_url(URL)
    line = redact('rpc.example:8545 "POST /v2/pathkey-123?apikey=q-456&x=1 HTTP/1.1" 200; password pa$$word-1')
    assert not [s for s in SECRETS if s in line]
    assert line.startswith('rpc.example:8545 "POST ') and line.endswith(' HTTP/1.1" 200; password ' + REDACTED)


def test_scrub_keeps_arguments_a_formatter_unpacks():
    protect_url(URL)
    entry = record('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", "/v2/pathkey-123", "1.1", 200)
    scrub(entry)
    assert isinstance(entry.args, tuple) and len(entry.args) == 5
    assert entry.getMessage() == f'127.0.0.1:5000 - "POST {REDACTED} HTTP/1.1" 200'


def test_scrub_redacts_objects_and_tracebacks():
    protect_url(URL)
    try:
        raise ConnectionError(f"cannot reach {URL}")
    except ConnectionError as exc:
        entry = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed: %s", (exc,), logging.sys.exc_info())
    scrub(entry)
    text = logging.Formatter().format(entry)
    assert "Traceback" in text and not [s for s in SECRETS if s in text]


def test_helpers_say_nothing_about_credentials():
    assert redact_url(URL) == "https://rpc.example:8545"
    assert all(any(s in part for part in url_secrets(URL)) for s in SECRETS)
    assert url_secrets("http://127.0.0.1:8545/") == ()
