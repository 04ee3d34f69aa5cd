"""Every layer says what is wrong with refused input the same way: the first problem, where, and why."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from foundation.validation import first_problem


class Inner(BaseModel):
    port: int


class Outer(BaseModel):
    name: str
    inner: Inner
    choice: int | list[int] = 0


def refusal(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(data)
    return info.value


def test_the_first_problem_names_its_dotted_location():
    problem = first_problem(refusal({"name": "x", "inner": {"port": "eighty"}}))
    assert (problem.where, problem.kind) == ("inner.port", "int_parsing")
    assert problem.describe() == "inner.port: Input should be a valid integer, unable to parse string as an integer"


def test_a_missing_field_says_so():
    problem = first_problem(refusal({"inner": {"port": 1}}))
    assert (problem.where, problem.kind, problem.message) == ("name", "missing", "Field required")


def test_a_source_prefix_is_dropped_and_the_whole_value_has_a_name():
    problem = first_problem(refusal("not a mapping"))
    assert problem.where == ""
    assert problem.describe("file") == "file: Input should be a valid dictionary or instance of Outer"
    assert first_problem(refusal({"name": "x"}), sources={"inner"}).where == "inner"  # never emptied


def test_only_the_first_line_of_a_message_is_kept():
    class Many:
        def errors(self) -> list[dict[str, object]]:
            return [{"loc": ("body", "owner"), "msg": "first line\nsecond line", "type": "value_error"}]

    assert first_problem(Many(), sources={"body"}).describe() == "owner: first line"
    assert first_problem(type("Empty", (), {"errors": lambda self: []})()).describe() == "value: invalid value"
