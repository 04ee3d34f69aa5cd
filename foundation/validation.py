"""Say in one line what is wrong with a value pydantic refused: the first problem, where it is, and why."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Refusal(Protocol):
    """A pydantic ValidationError, or FastAPI's RequestValidationError: anything listing its errors."""

    def errors(self) -> Sequence[Any]:
        """Return the problems, each a mapping with loc, msg and type."""


@dataclass(frozen=True)
class FieldProblem:
    """The first error of a validation: dotted location ("" for the whole value), message, pydantic type."""

    where: str
    message: str
    kind: str

    def describe(self, whole: str = "value") -> str:
        """Return "<where>: <message>", naming the whole value `whole` when no field is at fault."""
        return f"{self.where or whole}: {self.message}"


def first_problem(error: Refusal, *, sources: Collection[str] = ()) -> FieldProblem:
    """Return `error`'s first problem; a leading location in `sources` (FastAPI's "body", ...) is dropped."""
    errors = error.errors()
    if not errors:
        return FieldProblem("", "invalid value", "value_error")
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    if len(loc) > 1 and loc[0] in sources:
        loc = loc[1:]
    # pydantic's messages can run over several lines (a union's alternatives); the first says it.
    lines = str(first.get("msg", "")).splitlines() or ["invalid value"]
    return FieldProblem(".".join(loc), lines[0], str(first.get("type", "")))
