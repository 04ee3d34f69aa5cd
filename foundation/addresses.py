"""Read an Ethereum address typed by a person: 20 bytes of hex, with an EIP-55 checksum when mixed case."""

from __future__ import annotations

from eth_typing import ChecksumAddress
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address


def checksum_address(raw: str) -> ChecksumAddress:
    """Return `raw` (0x optional, surrounding blanks ignored) in EIP-55 form; ValueError says why not.

    All-lower or all-upper hex carries no checksum and is accepted; mixed case must be a valid
    checksum, so a typo in a copied address is caught instead of silently naming another account.
    """
    text = raw.strip()
    if not text.lower().startswith("0x"):
        text = "0x" + text
    if len(text) != 42 or not is_hex_address(text.lower()):
        raise ValueError(f"not an address (20 bytes of hex): {raw!r}")
    body = text[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address("0x" + body):
        raise ValueError(f"bad address checksum: {raw} (check for a typo)")
    return to_checksum_address("0x" + body.lower())
