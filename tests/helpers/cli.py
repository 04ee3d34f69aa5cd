"""Run the dstack-gov CLI in-process and capture what a user would see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from dstack_gov.cli import main


@dataclass
class CliResult:
    """Exit code and output of one CLI run."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Parse stdout as the one JSON object --json promises."""
        return json.loads(self.out)

    @property
    def json_error(self) -> dict[str, str]:
        """Return the one {"error", "kind"} object a failure prints on stdout under --json (stderr stays empty)."""
        assert self.err == "", f"expected nothing on stderr, got: {self.err!r}"
        error = json.loads(self.out)  # json.loads refuses a second object or any other text
        assert isinstance(error, dict) and set(error) == {"error", "kind"}, self.out
        assert self.out.count("\n") == 1 and "Traceback" not in self.out
        return error

    @property
    def error_line(self) -> str:
        """Return stderr, asserting it is exactly one line with no traceback."""
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one error line, got: {self.err!r}"
        assert "Traceback" not in self.err
        return lines[0]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run `dstack-gov args...` and return its exit code and output."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
