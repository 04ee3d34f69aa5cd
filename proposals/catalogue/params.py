"""Typed action parameters: parsing from text, validation, display."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress

from foundation.addresses import checksum_address
from proposals.errors import InvalidInput

_HEX = re.compile(r"^(0x)?[0-9a-fA-F]*$")


class Kind(enum.Enum):
    """The value types actions take; each maps to one ABI type."""

    BYTES32 = "bytes32"
    ADDRESS = "address"
    BOOL = "bool"
    UINT = "uint256"
    STRING = "string"
    BYTES = "bytes"


def parse_hex(raw: str, name: str, *, length: int | None = None) -> bytes:
    """Parse hex with or without 0x; `length` demands exactly that many bytes."""
    text = raw.strip()
    if not _HEX.match(text):
        raise InvalidInput(f"{name}: not hex: {raw!r}")
    digits = text[2:] if text.lower().startswith("0x") else text
    if len(digits) % 2:
        raise InvalidInput(f"{name}: odd number of hex digits")
    value = bytes.fromhex(digits)
    if length is not None and len(value) != length:
        raise InvalidInput(f"{name}: expected {length} bytes ({2 * length} hex digits), got {len(value)}")
    return value


def parse_address(raw: str, name: str) -> ChecksumAddress:
    """Parse an address; mixed case must carry a valid EIP-55 checksum."""
    try:
        return checksum_address(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_bool(raw: str | bool, name: str) -> bool:
    """Parse true/false, yes/no, 1/0, on/off."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{name}: expected true or false, got {raw!r}")


def parse_uint(raw: str | int, name: str) -> int:
    """Parse a non-negative integer (decimal, or hex with 0x)."""
    if isinstance(raw, bool):
        raise InvalidInput(f"{name}: expected a number, got {raw!r}")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        try:
            value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise InvalidInput(f"{name}: expected a number, got {raw!r}") from None
    if not 0 <= value < 2**256:
        raise InvalidInput(f"{name}: out of range")
    return value


@dataclass(frozen=True)
class Param:
    """One user-facing parameter of an action, named as in the contract ABI."""

    name: str
    kind: Kind
    help: str
    # A bool becomes a --flag on the CLI; everything else is positional unless optional.
    optional: bool = False
    default: Any = None
    flag: str | None = None
    # For STRING params that must look like an address (the gateway app id).
    address_like: bool = False

    def parse(self, raw: Any) -> Any:
        """Validate and convert `raw` (text from a CLI, a chat or a file) into the ABI value."""
        if raw is None:
            if self.optional:
                return self.default
            raise InvalidInput(f"{self.name}: missing value")
        if self.kind is Kind.BYTES32:
            return parse_hex(_text(raw, self.name), self.name, length=32)
        if self.kind is Kind.ADDRESS:
            return parse_address(_text(raw, self.name), self.name)
        if self.kind is Kind.BOOL:
            return parse_bool(raw, self.name)
        if self.kind is Kind.UINT:
            return parse_uint(raw, self.name)
        if self.kind is Kind.BYTES:
            return parse_hex(_text(raw, self.name), self.name)
        text = _text(raw, self.name)
        if self.address_like:
            parse_address(text, self.name)
        return text

    def render(self, value: Any) -> str:
        """Show a parsed value the way a person would type it."""
        return render_value(value)


def _text(raw: Any, name: str) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"{name}: expected text, got {type(raw).__name__}")
    return raw


def render_value(value: Any) -> str:
    """Render an ABI value for people: 0x-hex for bytes, lowercase bools."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    return str(value)
