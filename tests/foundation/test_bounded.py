"""Bounded JSON and YAML parsing: hostile shapes are refused in one line before any parser recurses."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import pytest
import yaml

from foundation.bounded import DEFAULT_MAX_DEPTH, ParseError, check_json_depth, json_depth, load_yaml, loads_json

KIB = 1024
DEEP = 100_000  # the depth that overflowed the C stack once py_ecc had raised the recursion limit


def refusal(parse: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ParseError) as caught:
        parse(*args, **kwargs)
    reason = caught.value.reason
    assert "\n" not in reason and reason == str(caught.value)
    return reason


def nesting(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b"[" * DEEP,  # unbalanced: the parser would recurse before noticing
        b"[{" * (DEEP // 2),
        ("[" * DEEP + "]" * DEEP).encode("utf-16"),  # json.loads reads UTF-16 too
    ],
)
def test_deep_json_is_refused_before_parsing(body):
    assert refusal(loads_json, body, max_bytes=1024 * KIB) == f"nested deeper than {DEFAULT_MAX_DEPTH} levels"


def test_deep_json_is_refused_even_with_a_raised_recursion_limit():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # what importing py_ecc does
    try:
        refusal(loads_json, "[" * DEEP + "]" * DEEP, max_bytes=256 * KIB)
    finally:
        sys.setrecursionlimit(previous)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": ["[" * 500, '{{ \\" ]]] \\\\', '"[['], "b": 'x\\"[' * 200})
    assert loads_json(text, max_bytes=64 * KIB, max_depth=2) == json.loads(text)
    assert json_depth(text) == 2


def test_an_unterminated_string_hides_nothing_from_the_parser():
    # After an unterminated quote everything is string to the parser, so nothing there can nest.
    assert json_depth('["' + "[" * 1000) == 1
    assert json_depth('["' + "[" * 1000 + "\\") == 1  # even one ending in a lone backslash
    assert refusal(loads_json, '["' + "[" * 1000, max_bytes=64 * KIB).startswith("not valid JSON (")


def test_the_scan_never_reads_less_depth_than_the_parser_builds():
    rng = random.Random(20240917)

    def value(depth: int) -> object:
        roll = rng.random()
        if depth > 12 or roll < 0.3:
            return rng.choice(["[", "]", "{", '"', "\\", "x", 1, None, True, "\u2028", "ሴ[", 1.5])
        if roll < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(["[", "k", '"{', "\\]"]) + str(i): value(depth + 1) for i in range(rng.randint(0, 3))}

    for _ in range(300):
        document = value(0)
        for text in (json.dumps(document), json.dumps(document, ensure_ascii=False, indent=1)):
            assert json_depth(text) == nesting(document)
            assert json_depth(text.encode()) == nesting(document)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        (b"\xff\xfe\x00", "not valid JSON ("),
        (b"9" * 5000, "not valid JSON (Exceeds the limit (4300 digits) for integer string conversion"),
        (b"x" * (64 * KIB + 1), "larger than 64 KiB"),
    ],
)
def test_invalid_or_oversized_json_gets_one_line(data, reason):
    assert refusal(loads_json, data, max_bytes=64 * KIB).startswith(reason)


def test_check_json_depth_alone():
    check_json_depth(b"[[1]]", 2)
    assert refusal(check_json_depth, b"[[[1]]]", 2) == "nested deeper than 2 levels"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_the_bracket_count_shortcut_agrees_with_the_scan_in_every_json_encoding(encoding):
    # The check skips the scan when the data holds few opening-bracket bytes; that must never let
    # through what the scan refuses, whichever encoding json.loads would detect.
    for text in ('{"a":[[[1]]]}', '[[["[[[[", {"b": [2]}]]]', '{"k": "[{[{"}', "[" * 3 + "]" * 3):
        data = text.encode(encoding)
        assert json.loads(data) == json.loads(text)
        for max_depth in range(6):
            refused = refusal(check_json_depth, data, max_depth) if json_depth(data) > max_depth else None
            if refused is None:
                check_json_depth(data, max_depth)
            else:
                assert refused == f"nested deeper than {max_depth} levels"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000,
        "{" * 200_000,
        "[a: {" * 40_000,
        "- " * 100_000,
        "".join(" " * i + "k:\n" for i in range(300)),
        ("[" * 60 + "\n") * 3_000,
    ],
    ids=["flow-sequences", "flow-mappings", "mixed-flow", "block-sequences", "block-mappings", "many-lines"],
)
def test_deep_yaml_is_refused_while_composing(text):
    assert refusal(load_yaml, text, max_bytes=256 * KIB) == f"nested deeper than {DEFAULT_MAX_DEPTH} levels"


def test_alias_bombs_and_self_containing_anchors_are_refused():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    assert refusal(load_yaml, bomb, max_bytes=KIB) == "holds more than 20000 values (aliases expanded)"
    assert refusal(load_yaml, "a: &a [*a]", max_bytes=KIB) == "an alias refers to a node that contains it"
    assert refusal(load_yaml, "a: &a {b: *a}", max_bytes=KIB) == "an alias refers to a node that contains it"
    # A few aliases that expand to little are fine.
    small = load_yaml("a: &a [1, 2]\nb: *a\nc: {<<: {k: v}}", max_bytes=KIB)
    assert small == {"a": [1, 2], "b": [1, 2], "c": {"k": "v"}}


def test_wide_yaml_is_refused_by_its_value_count():
    text = "[" + ",".join(["1"] * 30_000) + "]"
    assert refusal(load_yaml, text, max_bytes=256 * KIB) == "holds more than 20000 values (aliases expanded)"
    assert len(load_yaml(text, max_bytes=256 * KIB, max_nodes=40_000)) == 30_000


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("!!python/object/apply:os.system ['true']", "not valid YAML (could not determine a constructor for the tag"),
        ("a: [unclosed", "not valid YAML (while parsing a flow sequence, expected ',' or ']', but got '<stream end>'"),
        ("a: 1\n---\nb: 2", "not valid YAML (expected a single document in the stream, but found another"),
        ("when: 2024-13-45", "not valid YAML (month must be in 1..12)"),
        ("\x00", "not valid YAML (unacceptable character #x0000: special characters are not allowed"),
        ("? [a]\n: b", "not valid YAML (while constructing a mapping, found unhashable key at line 1 column 3)"),
    ],
)
def test_bad_yaml_gets_one_line(text, reason):
    assert refusal(load_yaml, text, max_bytes=KIB).startswith(reason)


def test_a_safe_loader_subclass_keeps_its_resolvers():
    class Strings(yaml.SafeLoader):
        pass

    Strings.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:int"]
                                       for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}  # fmt: skip
    assert load_yaml("n: 0x12", max_bytes=KIB, loader=Strings) == {"n": "0x12"}
    assert load_yaml("n: 0x12", max_bytes=KIB) == {"n": 18}
    with pytest.raises(TypeError):
        load_yaml("n: 1", max_bytes=KIB, loader=yaml.UnsafeLoader)  # type: ignore[arg-type]
