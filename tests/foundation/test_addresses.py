"""One reading of a typed address serves the config file, the CLI, the bot and the API."""

from __future__ import annotations

import pytest

from foundation.addresses import checksum_address

CHECKSUMMED = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize(
    "raw",
    [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper(), CHECKSUMMED[2:], f"  {CHECKSUMMED}\n"],
)
def test_an_address_in_any_unambiguous_form_is_checksummed(raw):
    assert checksum_address(raw) == CHECKSUMMED


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0x1234", "not an address (20 bytes of hex): '0x1234'"),
        ("0x" + "g" * 40, "not an address (20 bytes of hex)"),
        (CHECKSUMMED + "00", "not an address (20 bytes of hex)"),
        ("", "not an address (20 bytes of hex): ''"),
        (
            "0x5fbdb2315678afecb367f032d93F642f64180aa3",
            "bad address checksum: 0x5fbdb2315678afecb367f032d93F642f64180aa3",
        ),
    ],
)
def test_anything_else_is_refused_with_the_reason(raw, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        checksum_address(raw)
