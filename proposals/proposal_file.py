"""Proposal files (YAML or JSON): a title, a description and a list of catalogue actions."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from foundation.bounded import ParseError, load_yaml, loads_json
from foundation.validation import first_problem
from proposals.catalogue import get_action
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


def load_proposal_text(text: str, *, source: str = "proposal file") -> ChangeRequest:
    """Parse YAML or JSON text into a change request; errors name the file and the field.

    The text is parsed within size, nesting and alias-expansion bounds (foundation.bounded), so a hostile
    file costs a fraction of a second and is refused in one line.
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
        try:
            action.parse({k: v for k, v in values.items()})
        except InvalidInput as exc:
            raise InvalidInput(f"{source}: action #{index} ({action.cli_path}): {exc.message}") from None
        requested.append(RequestedAction(action, values, target))
    return ChangeRequest(parsed.title, tuple(requested), parsed.description)
