"""Turn raw revert data into words a person can act on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, cast

from eth_abi import decode
from eth_typing import ABIError
from eth_utils import function_signature_to_4byte_selector
from eth_utils.abi import abi_to_signature, get_abi_input_types

from .artifacts import ARTIFACT_NAMES, load_artifact

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")

# Solidity panic codes, from the language documentation.
PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


ErrorTable = dict[bytes, tuple[str, tuple[str, ...]]]


def error_table(abi: Iterable[Mapping[str, Any]]) -> ErrorTable:
    """Map selector -> (name, argument types) for every custom error in `abi`."""
    table: ErrorTable = {}
    for item in abi:
        if item.get("type") == "error":
            entry = cast(ABIError, dict(item))
            # eth-utils collapses a tuple parameter into one "(a,b)" type that eth-abi decodes as one value.
            selector = function_signature_to_4byte_selector(abi_to_signature(entry))
            table[selector] = (entry["name"], tuple(get_abi_input_types(entry)))
    return table


@cache
def _known_custom_errors() -> ErrorTable:
    return error_table(item for name in ARTIFACT_NAMES for item in load_artifact(name).abi)


def _format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_format_value(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return str(value)


def decode_revert(data: bytes | None, abi: Iterable[Mapping[str, Any]] = ()) -> str:
    """Describe revert `data`: Error(string), Panic(uint256), or a custom error of our contracts or `abi`."""
    if not data:
        return "reverted without a reason"
    selector, body = bytes(data[:4]), bytes(data[4:])
    known = {**_known_custom_errors(), **error_table(abi)}
    try:
        if selector == ERROR_STRING_SELECTOR:
            (message,) = decode(["string"], body)
            return str(message)
        if selector == PANIC_SELECTOR:
            (code,) = decode(["uint256"], body)
            return f"panic: {PANIC_REASONS.get(code, hex(code))}"
        if selector in known:
            name, types = known[selector]
            args = decode(list(types), body) if types else ()
            return f"{name}({', '.join(_format_value(a) for a in args)})"
    except Exception:  # noqa: BLE001 - malformed revert data is reported as such below
        return f"reverted with undecodable data 0x{bytes(data).hex()}"
    return f"reverted with unknown error 0x{bytes(data).hex()}"
