"""Parse untrusted JSON and YAML within size, nesting and expansion bounds, refusing in one line.

JSON: `json.loads` recurses in C once per nesting level, so a deep document can exhaust the stack
(see recursion.py). Before parsing, `check_json_depth` measures the nesting over the raw text: string
literals are cut out with one regex (an unterminated one runs to the end, as it does for the parser),
every other character except brackets is dropped, and the running depth is summed in C. Outside
strings only `[`/`]`/`{`/`}` change JSON's nesting, so the measure is exact for valid JSON and never
below the parser's depth for any input: the parser refuses before it could go deeper than the scan.

YAML: a textual pre-scan cannot be sound (quotes, comments, block indentation and plain scalars such
as `a[b` all change what a bracket means), so the loader itself counts. Composition builds the node
tree top-down, one `compose_node` call per node and one nested call per level, so counting there
bounds both block and flow nesting exactly. PyYAML's scanner and parser are lazy, pulled one event at
a time by the composer, so a hostile `[[[[…` is refused after a few dozen levels, long before the
scanner's cost (quadratic in open flow levels) matters. The same hook sizes each node as its aliases
expand, which refuses "billion laughs" documents and anchors that contain themselves.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

DEFAULT_MAX_DEPTH = 64
# Nodes after alias expansion: a proposal or policy file has a few thousand at most.
DEFAULT_MAX_NODES = 20_000

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class ParseError(ValueError):
    """An input refused by a bounded parser; `reason` is one line, safe to show to whoever sent it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _size_reason(max_bytes: int) -> str:
    limit = f"{max_bytes // 1024} KiB" if max_bytes >= 1024 and max_bytes % 1024 == 0 else f"{max_bytes} bytes"
    return f"larger than {limit}"


def _as_utf8(data: bytes | str) -> bytes:
    """Return `data` as UTF-8 bytes, decoding bytes the way `json.loads` does (UTF-8, -16 or -32)."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    encoding = json.detect_encoding(data)
    # In UTF-8 an ASCII byte is always that character; in UTF-16/32 a bracket byte may be half of another.
    if encoding.startswith("utf-8"):
        return data
    return data.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")


def json_depth(data: bytes | str) -> int:
    """Return the deepest bracket nesting of `data` outside JSON string literals."""
    try:
        raw = _as_utf8(data)
    except UnicodeDecodeError:
        return 0  # json.loads refuses it before parsing anything
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_json_depth(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise ParseError if `data` nests arrays/objects deeper than `max_depth`."""
    # Nesting never exceeds the number of opening brackets, and in UTF-8, -16 and -32 alike every
    # `[` or `{` puts its ASCII byte in the data: few of those bytes settle it without the full scan.
    opening = data.count("[") + data.count("{") if isinstance(data, str) else data.count(b"[") + data.count(b"{")
    if opening <= max_depth:
        return
    if json_depth(data) > max_depth:
        raise ParseError(f"nested deeper than {max_depth} levels")


def loads_json(data: bytes | str, *, max_bytes: int, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse JSON of at most `max_bytes` and `max_depth` levels; raise ParseError otherwise."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ParseError(_size_reason(max_bytes))
    check_json_depth(data, max_depth)
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        # Undecodable bytes, or an integer longer than Python's 4300-digit conversion limit.
        raise ParseError(f"not valid JSON ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return " ".join(lines[0].split())[:200] if lines else type(exc).__name__


class _BoundedComposition:
    """Loader mixin: refuse nodes nested deeper than `max_depth` or expanding to over `max_nodes`."""

    max_depth = DEFAULT_MAX_DEPTH
    max_nodes = DEFAULT_MAX_NODES
    anchors: dict[Any, Node]

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """Compose one node as PyYAML does, counting its depth and the values composed so far."""
        state = self.__dict__
        sizes: dict[int, int] = state.setdefault("_sizes", {})
        depth: int = state.get("_depth", 0) + 1
        if depth > self.max_depth:
            raise ParseError(f"nested deeper than {self.max_depth} levels")
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            target = self.anchors.get(self.peek_event().anchor)  # type: ignore[attr-defined]
            if target is not None and id(target) not in sizes:
                raise ParseError("an alias refers to a node that contains it")
        state["_depth"] = depth
        try:
            node: Node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            state["_depth"] = depth - 1
        size = sizes.get(id(node))
        # An alias adds the whole subtree it repeats; a new node adds itself (its children added theirs).
        state["_total"] = state.get("_total", 0) + (1 if size is None else size)
        if size is None:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))  # nodes live on: ids stay unique
        if state["_total"] > self.max_nodes:
            raise ParseError(f"holds more than {self.max_nodes} values (aliases expanded)")
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_LOADERS: dict[tuple[type[yaml.SafeLoader], int, int], type[yaml.SafeLoader]] = {}


def _bounded_loader(loader: type[yaml.SafeLoader], max_depth: int, max_nodes: int) -> type[yaml.SafeLoader]:
    key = (loader, max_depth, max_nodes)
    if key not in _LOADERS:
        attributes = {"max_depth": max_depth, "max_nodes": max_nodes}
        _LOADERS[key] = type(f"Bounded{loader.__name__}", (_BoundedComposition, loader), attributes)
    return _LOADERS[key]


def load_yaml(
    data: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
) -> Any:
    """Parse one YAML document with `loader` (a SafeLoader) within the bounds; raise ParseError otherwise."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ParseError(_size_reason(max_bytes))
    if not issubclass(loader, yaml.SafeLoader):
        raise TypeError("load_yaml needs a SafeLoader subclass")
    try:
        return yaml.load(data, Loader=_bounded_loader(loader, max_depth, max_nodes))  # noqa: S506 - a SafeLoader
    except ParseError:
        raise
    except yaml.YAMLError as exc:
        raise ParseError(f"not valid YAML ({_yaml_reason(exc)})") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # SafeConstructor's own conversions: a date out of range, an int past the digit limit, ...
        raise ParseError(f"not valid YAML ({_first_line(exc)})") from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        said = ", ".join(part for part in (exc.context, exc.problem) if part)
        return f"{' '.join(said.split())[:200]}{where}"
    return _first_line(exc)
