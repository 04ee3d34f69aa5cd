"""Proposal files (YAML or JSON): a title, a description and a list of catalogue actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from foundation.bounded import ParseError, load_yaml, loads_json
from foundation.validation import first_problem
from proposals.catalogue import Action, get_action
from proposals.compose import canonical_bytes, read_compose_file
from proposals.compose_review import attach_compose
from proposals.errors import InvalidInput
from proposals.planning import MAX_ACTIONS, ChangeRequest, RequestedAction

MAX_FILE_BYTES = 256 * 1024
# A real proposal file nests about five levels (actions, one action, a list parameter, its items).
MAX_FILE_DEPTH = 32


class _StringScalarLoader(yaml.SafeLoader):
    """YAML loader that keeps numbers as text: an unquoted 0x1234... hash must not become an int."""


_StringScalarLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ProposalFile(BaseModel):
    """The proposal file schema; each action mapping holds `action`, its ABI-named parameters, and `app`/`safe`."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ACTIONS)

    @field_validator("actions")
    @classmethod
    def _each_names_an_action(cls, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, entry in enumerate(actions, start=1):
            if not isinstance(entry.get("action"), str):
                raise ValueError(f"action #{index} needs an `action` name (e.g. `kms add-image`)")
        return actions


def _printable(text: str) -> str:
    """Escape control characters, so a key like "a\\nb" cannot break a one-line refusal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def load_proposal_text(text: str, *, source: str = "proposal file", base_dir: Path | None = None) -> ChangeRequest:
    """Parse YAML or JSON text into a change request; errors name the file and the field.

    The text is parsed within size, nesting and alias-expansion bounds (foundation.bounded), so a hostile
    file costs a fraction of a second and is refused in one line. An `app add-hash` entry may carry its
    app-compose.json: `composeFile:` (a path relative to `base_dir`, the proposal file's folder; refused
    without one) or `compose:` inline (the file's exact text, or a mapping written in canonical form).
    """
    bounds: dict[str, Any] = {"max_bytes": MAX_FILE_BYTES, "max_depth": MAX_FILE_DEPTH}
    try:
        if text.lstrip().startswith("{"):
            raw = loads_json(text, **bounds)
        else:
            raw = load_yaml(text, loader=_StringScalarLoader, **bounds)
    except ParseError as exc:
        raise InvalidInput(f"{source}: {exc.reason}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{source}: expected a mapping with title, description and actions")
    try:
        parsed = ProposalFile.model_validate(raw)
    except ValidationError as exc:
        problem = first_problem(exc)
        raise InvalidInput(f"{source}: {_printable(problem.where or 'file')[:100]}: {problem.message}") from None
    requested = []
    typed = _typed_composes(text, raw, bounds)
    for index, entry in enumerate(parsed.actions, start=1):
        values = dict(entry)
        name = values.pop("action")
        try:
            action = get_action(name)
        except InvalidInput as exc:
            raise InvalidInput(f"{source}: action #{index}: {exc.message}") from None
        target = values.pop("app", None) or values.pop("safe", None)
        if target is not None and not isinstance(target, str):
            raise InvalidInput(f"{source}: action #{index}: `app` must be an address")
        compose = typed[index - 1] if typed else None
        values, raw_compose = _with_compose(action, values, compose, base_dir, f"{source}: action #{index}")
        try:
            action.parse({k: v for k, v in values.items()})
        except InvalidInput as exc:
            raise InvalidInput(f"{source}: action #{index} ({action.cli_path}): {exc.message}") from None
        requested.append(RequestedAction(action, values, target, raw_compose))
    return ChangeRequest(parsed.title, tuple(requested), parsed.description)


def _typed_composes(text: str, raw: dict[str, Any], bounds: dict[str, Any]) -> list[Any]:
    """Return each action's inline `compose` with YAML's own types (the file loader keeps numbers as text)."""
    actions = raw.get("actions")
    if not isinstance(actions, list) or not any(isinstance(a, dict) and isinstance(a.get("compose"), dict)
                                                for a in actions):  # fmt: skip
        return []
    typed = raw if text.lstrip().startswith("{") else load_yaml(text, **bounds)  # parsed once already: cannot fail
    return [entry.get("compose") if isinstance(entry, dict) else None for entry in typed["actions"]]


def _with_compose(
    action: Action, values: dict[str, Any], typed: Any, base_dir: Path | None, where: str
) -> tuple[dict[str, Any], bytes | None]:
    """Take `compose`/`composeFile` out of an entry; return its values (hash checked or filled in) and the file."""
    inline, path = values.pop("compose", None), values.pop("composeFile", None)
    if inline is None and path is None:
        return values, None
    if inline is not None and path is not None:
        raise InvalidInput(f"{where}: give `compose` or `composeFile`, not both")
    if path is not None:
        if not isinstance(path, str) or not path.strip():
            raise InvalidInput(f"{where}: `composeFile` must be a path")
        if base_dir is None:
            raise InvalidInput(f"{where}: `composeFile` is read only from a proposal file on disk; "
                               "put the app-compose.json under `compose:` instead")  # fmt: skip
        raw = read_compose_file(base_dir / path, source=f"{where}: composeFile {_printable(path)[:100]}")
    elif isinstance(inline, str):
        raw = inline.encode("utf-8")
    elif isinstance(typed, dict):
        raw = canonical_bytes(typed, source=f"{where}: compose")
    else:
        raise InvalidInput(f"{where}: `compose` must be the app-compose.json, as text or as a mapping")
    values, _ = attach_compose(action, values, raw, source=f"{where}: app-compose.json")
    return values, raw
