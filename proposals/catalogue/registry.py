"""The catalogue: every action, looked up by name or by calldata."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from proposals.errors import InvalidInput

from .app_actions import APP_ACTIONS
from .kms_actions import KMS_ACTIONS
from .model import Action, Group
from .safe_actions import SAFE_ACTIONS

CATALOGUE: tuple[Action, ...] = (*KMS_ACTIONS, *APP_ACTIONS, *SAFE_ACTIONS)


def _index() -> dict[str, Action]:
    by_name: dict[str, Action] = {}
    for action in CATALOGUE:
        if action.name in by_name:
            raise RuntimeError(f"duplicate action name {action.name}")
        by_name[action.name] = action
    return by_name


_BY_NAME = _index()


def actions(group: Group | None = None) -> Iterator[Action]:
    """Iterate the catalogue, optionally one group."""
    return (a for a in CATALOGUE if group is None or a.group is group)


def get_action(name: str) -> Action:
    """Return the action named `name` (kebab `kms-add-image` or CLI path `kms add-image`)."""
    key = " ".join(name.strip().split()).replace(" ", "-").replace("_", "-").lower()
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise InvalidInput(f"unknown action {name!r}{hint}")


@dataclass(frozen=True)
class DecodedCall:
    """A call decoded against the catalogue (action is None when nothing matched)."""

    action: Action | None
    values: dict[str, Any]
    selector: bytes


def decode_call(group: Group | None, calldata: bytes) -> DecodedCall:
    """Match calldata to a catalogue action of `group` (any group if None) and decode it."""
    selector = bytes(calldata[:4])
    for action in actions(group):
        if action.selector == selector:
            try:
                return DecodedCall(action, action.decode(calldata), selector)
            except Exception:  # noqa: BLE001 - malformed arguments are reported as undecodable
                break
    return DecodedCall(None, {}, selector)
