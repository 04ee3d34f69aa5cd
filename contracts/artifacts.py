"""Load the compiled contract artifacts that ship as package data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from hexbytes import HexBytes

ARTIFACT_NAMES = (
    "DstackKms",
    "DstackApp",
    "ERC1967Proxy",
    "AllowlistAppAuth",
    "DstackAppV2Mock",
    "DstackKmsV2Mock",
)


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI and creation/runtime bytecode."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: HexBytes
    deployed_bytecode: HexBytes


@cache
def load_artifact(name: str) -> Artifact:
    """Return the committed artifact of contract `name`."""
    if name not in ARTIFACT_NAMES:
        raise KeyError(f"no artifact named {name!r}")
    text = resources.files("contracts").joinpath("artifacts", f"{name}.json").read_text()
    raw = json.loads(text)
    return Artifact(
        name=name,
        abi=tuple(raw["abi"]),
        bytecode=HexBytes(raw["bytecode"]),
        deployed_bytecode=HexBytes(raw["deployedBytecode"]),
    )


def kms_abi() -> list[dict[str, Any]]:
    """Return the DstackKms ABI, as docs/interface.md fixes it."""
    return list(load_artifact("DstackKms").abi)


def app_abi() -> list[dict[str, Any]]:
    """Return the DstackApp ABI, as docs/interface.md fixes it."""
    return list(load_artifact("DstackApp").abi)
