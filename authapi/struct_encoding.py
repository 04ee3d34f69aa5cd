"""Encode the boot checks' one argument, the boot-info struct, as the ABI lays it out.

eth_abi encodes any type by walking a tree of encoder objects that validate each value twice: 36 to
47 µs for one boot-info struct, a third of the webhook's own work on an uncached request. In an A/B
run at concurrency 1 (two servers on one anvil, alternating), taking that work out raised throughput
by a quarter: eth_abi's deep call chains run cold between requests. The struct has a fixed shape,
read from the ABI: static members (address, bytesN) and dynamic ones (string, string[]). This module
encodes exactly those kinds and refuses to be built for any other, so an ABI that grows another kind
of member fails at startup instead of producing wrong calldata. KmsCalls checks it against eth_abi
when it is built, and the tests compare the two over randomised requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_BYTES_N = re.compile(r"bytes([1-9]|[12][0-9]|3[0-2])")
_ZERO_WORD = bytes(32)

Encode = Callable[[object], bytes]


def _word(number: int) -> bytes:
    return number.to_bytes(32, "big")


def _address(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise ValueError("an address member must be 20 bytes")
    return _ZERO_WORD[:12] + value


def _fixed_bytes(size: int) -> Encode:
    def encode(value: object) -> bytes:
        if not isinstance(value, bytes) or len(value) > size:
            raise ValueError(f"a bytes{size} member must be at most {size} bytes")
        return value + _ZERO_WORD[len(value) :]

    return encode


def _string(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("a string member must be a str")
    data = value.encode("utf-8")
    return _word(len(data)) + data + _ZERO_WORD[: -len(data) % 32]


def _string_array(value: object) -> bytes:
    if not isinstance(value, list | tuple):
        raise ValueError("a string[] member must be a list")
    items = [_string(item) for item in value]
    heads, offset = [], 32 * len(items)
    for item in items:  # each offset counts from the first offset word, after the length
        heads.append(_word(offset))
        offset += len(item)
    return b"".join((_word(len(items)), *heads, *items))


def _member(abi_type: str) -> tuple[bool, Encode]:
    """Return (is_dynamic, encoder) for one member type; ValueError for a kind this module lacks."""
    if abi_type == "address":
        return False, _address
    if match := _BYTES_N.fullmatch(abi_type):
        return False, _fixed_bytes(int(match.group(1)))
    if abi_type == "string":
        return True, _string
    if abi_type == "string[]":
        return True, _string_array
    raise ValueError(f"struct member type {abi_type} is not supported")


class StructEncoder:
    """Encode a struct of address, bytesN, string and string[] members as a function's only argument."""

    def __init__(self, member_types: Sequence[str]) -> None:
        self.member_types = tuple(member_types)
        self._members = [_member(t) for t in self.member_types]
        self._head_size = 32 * len(self._members)
        # A struct with a dynamic member is itself dynamic: the argument's head is then its offset.
        self._prefix = [_word(32)] if any(dynamic for dynamic, _ in self._members) else []

    def encode(self, values: Sequence[object]) -> bytes:
        """Return the argument's encoding: the struct's offset (if it is dynamic), its heads, its tails."""
        if len(values) != len(self._members):
            raise ValueError(f"the struct has {len(self._members)} members, not {len(values)}")
        heads = list(self._prefix)
        tails: list[bytes] = []
        offset = self._head_size
        for (dynamic, encode), value in zip(self._members, values, strict=True):
            encoded = encode(value)
            if dynamic:
                heads.append(_word(offset))
                tails.append(encoded)
                offset += len(encoded)
            else:
                heads.append(encoded)
        return b"".join(heads + tails)
