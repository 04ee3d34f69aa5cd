"""Turn raw revert data into words a person can act on."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

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


def _signature(item: dict[str, Any]) -> str:
    def type_of(param: dict[str, Any]) -> str:
        if param["type"].startswith("tuple"):
            inner = ",".join(type_of(c) for c in param["components"])
            return f"({inner}){param['type'][5:]}"
        return str(param["type"])

    return f"{item['name']}({','.join(type_of(p) for p in item['inputs'])})"


@cache
def _known_custom_errors() -> dict[bytes, tuple[str, tuple[str, ...]]]:
    """Map selector -> (name, argument types) for every custom error in our ABIs."""
    known: dict[bytes, tuple[str, tuple[str, ...]]] = {}
    for name in ARTIFACT_NAMES:
        for item in load_artifact(name).abi:
            if item["type"] == "error":
                sig = _signature(item)
                types = tuple(sig[len(item["name"]) + 1 : -1].split(",")) if item["inputs"] else ()
                known[function_signature_to_4byte_selector(sig)] = (item["name"], types)
    return known


def _format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def decode_revert(data: bytes | None, extra_errors: Iterable[tuple[bytes, str]] = ()) -> str:
    """Describe revert `data`: Error(string), Panic(uint256) or a known custom error."""
    if not data:
        return "reverted without a reason"
    selector, body = bytes(data[:4]), bytes(data[4:])
    try:
        if selector == ERROR_STRING_SELECTOR:
            (message,) = decode(["string"], body)
            return str(message)
        if selector == PANIC_SELECTOR:
            (code,) = decode(["uint256"], body)
            return f"panic: {PANIC_REASONS.get(code, hex(code))}"
        known = _known_custom_errors()
        if selector in known:
            name, types = known[selector]
            args = decode(list(types), body) if types else ()
            return f"{name}({', '.join(_format_value(a) for a in args)})"
    except Exception:  # noqa: BLE001 - malformed revert data is reported as such below
        return f"reverted with undecodable data 0x{bytes(data).hex()}"
    for extra_selector, label in extra_errors:
        if selector == extra_selector:
            return label
    return f"reverted with unknown error 0x{bytes(data).hex()}"
