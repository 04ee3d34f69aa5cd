"""Log lines for people (text) or for log shippers (one JSON object per line), redacted either way.

`--log-format` (or $DSTACK_GOV_LOG_FORMAT) chooses; without it, `[logging] format` in the config does,
once the config is read. Redaction happens before any formatter runs (foundation.redaction scrubs
every record as it is made); the JSON formatter redacts its own output once more, so a credential
never reaches a line whatever path a record took.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Literal

from foundation.redaction import redact

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class SwitchableFormatter(logging.Formatter):
    """Formats as text or, once switched, as one JSON object per record."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self.json = False

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a text line, or as JSON with time, level, logger, message and exception."""
        if not self.json:
            return super().format(record)
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact(record.exc_text)
        return json.dumps(line, ensure_ascii=False)


_formatter: SwitchableFormatter | None = None
_chosen: LogFormat | None = None  # from the command line or the environment: the config does not override it


def configure_logging(*, verbose: bool, log_format: LogFormat | None) -> None:
    """Log to stderr at WARNING (DEBUG with `verbose`), as text or JSON lines."""
    global _formatter, _chosen
    root = logging.getLogger()
    before = list(root.handlers)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format=TEXT_FORMAT)
    added = [handler for handler in root.handlers if handler not in before]
    if added:  # a host (a test runner) that set up logging already keeps its own handlers and format
        _formatter = SwitchableFormatter()
        for handler in added:
            handler.setFormatter(_formatter)
    _chosen = log_format
    if _formatter is not None and log_format is not None:
        _formatter.json = log_format == "json"


def follow_config(log_format: LogFormat) -> None:
    """Apply `[logging] format` unless --log-format (or $DSTACK_GOV_LOG_FORMAT) chose already."""
    if _formatter is not None and _chosen is None:
        _formatter.json = log_format == "json"
