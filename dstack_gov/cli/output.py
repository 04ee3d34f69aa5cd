"""Rendering: rich for people, one JSON object with --json."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from proposals.catalogue import StateChange, render_value

console = Console(highlight=False, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """Convert bytes, enums and paths for json.dumps."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def emit(json_output: bool, payload: Mapping[str, Any], render: Callable[[Console], None]) -> None:
    """Print `payload` as JSON, or call `render` for people."""
    if json_output:
        print(json.dumps(jsonable(payload), sort_keys=False), flush=True)
    else:
        render(console)


def key_value_table(rows: Sequence[tuple[str, Any]], title: str | None = None) -> Table:
    """Return a two-column table."""
    table = Table(show_header=False, title=title, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        # Values are data (titles, chain strings): never parsed as rich markup.
        shown = render_value(value) if isinstance(value, (bool, bytes)) else str(jsonable(value))
        table.add_row(key, Text(shown))
    return table


def changes_table(changes: Sequence[StateChange]) -> Table:
    """Return a before -> after table."""
    table = Table(title="state", box=None, pad_edge=False)
    table.add_column("what", style="bold", overflow="fold")
    table.add_column("before", overflow="fold")
    table.add_column("after", overflow="fold")
    for change in changes:
        table.add_row(Text(change.label), Text(change.before), Text(change.after))
    return table


def changes_json(changes: Sequence[StateChange]) -> list[dict[str, str]]:
    """Return changes as JSON-ready dicts."""
    return [{"what": c.label, "before": c.before, "after": c.after} for c in changes]
