"""The generated half of docs/interface.md: selectors, events and interface ids read from the committed ABIs.

The hand-written half (boot rules, ownership, the webhook protocol) ends at MARKER; everything after
it is `render_tables()`. Regenerate with `python -m contracts.interface_doc docs/interface.md`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any

from eth_utils import abi_to_signature, collapse_if_tuple, event_abi_to_log_topic, function_abi_to_4byte_selector

from .artifacts import load_artifact

MARKER = "<!-- Generated from the committed ABIs by `python -m contracts.interface_doc docs/interface.md`. -->"
CONTRACTS = ("DstackKms", "DstackApp")
BOOT_CHECK = "isAppAllowed"
# ERC-165 id = XOR of the interface's selectors; the members are named as in contracts/solidity.
INTERFACES: dict[str, tuple[str, ...]] = {
    "IAppAuth": (BOOT_CHECK,),
    "IAppAuthBasicManagement": ("addComposeHash", "removeComposeHash", "addDevice", "removeDevice"),
    "IERC165": ("supportsInterface",),
}


@dataclass(frozen=True)
class FunctionRow:
    """One external function: selector, canonical signature, state mutability."""

    selector: str
    signature: str
    mutability: str


@dataclass(frozen=True)
class EventRow:
    """One event: topic 0, canonical signature, and the declaration with names and indexed flags."""

    topic: str
    signature: str
    declaration: str


def _items(contract: str, kind: str) -> list[Any]:
    # Any: the artifact's ABI is plain JSON, and eth-utils types its entries as TypedDicts.
    return [item for item in load_artifact(contract).abi if item["type"] == kind]


def _sorted(rows: Iterable[Any]) -> list[Any]:
    # Case-insensitive, so UPGRADE_INTERFACE_VERSION sits among the u's as in the interface's tables.
    return sorted(rows, key=lambda row: row.signature.casefold())


def functions(contract: str) -> list[FunctionRow]:
    """Return the external functions of `contract`, sorted by signature."""
    return _sorted(
        FunctionRow("0x" + function_abi_to_4byte_selector(item).hex(), abi_to_signature(item), item["stateMutability"])
        for item in _items(contract, "function")
    )


def declaration(event: dict[str, Any]) -> str:
    """Return an event as Solidity declares it: `Name(type [indexed] name, ...)`."""
    params = ", ".join(
        " ".join([collapse_if_tuple(p), *(["indexed"] if p.get("indexed") else []), p["name"]]) for p in event["inputs"]
    )
    return f"{event['name']}({params})"


def events(contract: str) -> list[EventRow]:
    """Return the events of `contract`, sorted by signature."""
    return _sorted(
        EventRow("0x" + event_abi_to_log_topic(item).hex(), abi_to_signature(item), declaration(item))
        for item in _items(contract, "event")
    )


def errors(contract: str) -> list[FunctionRow]:
    """Return the custom errors of `contract` (selector and signature), sorted by signature."""
    return _sorted(
        FunctionRow("0x" + function_abi_to_4byte_selector(item).hex(), abi_to_signature(item), "")
        for item in _items(contract, "error")
    )


def interface_id(members: Sequence[str], contract: str = "DstackApp") -> str:
    """Return the ERC-165 id of the interface made of the functions `members` of `contract`."""
    selectors = []
    for name in members:
        (item,) = (item for item in _items(contract, "function") if item["name"] == name)
        selectors.append(int.from_bytes(function_abi_to_4byte_selector(item)))
    return f"0x{reduce(xor, selectors):08x}"


def boot_info_members() -> list[tuple[str, str]]:
    """Return the boot-info struct's members (name, type) in ABI order, from DstackKms.isAppAllowed."""
    (check,) = (item for item in _items("DstackKms", "function") if item["name"] == BOOT_CHECK)
    (struct,) = check["inputs"]
    return [(member["name"], collapse_if_tuple(member)) for member in struct["components"]]


def _contract_tables(contract: str) -> list[str]:
    lines = [f"### {contract}", "", "| selector | function | mutability |", "|---|---|---|"]
    lines += [f"| `{r.selector}` | `{r.signature}` | {r.mutability} |" for r in functions(contract)]
    lines += ["", "| topic 0 | event |", "|---|---|"]
    lines += [f"| `{r.topic}` | `{r.declaration}` |" for r in events(contract)]
    lines += ["", "Custom errors of this build (OpenZeppelin's; not part of the fixed interface):", ""]
    lines += ["| selector | error |", "|---|---|", *(f"| `{r.selector}` | `{r.signature}` |" for r in errors(contract))]
    return [*lines, ""]


def render_tables() -> str:
    """Return the generated reference: the boot-info struct, ERC-165 ids, functions, events, errors."""
    lines = [
        "## Generated reference",
        "",
        "### The boot-info struct (ABI order)",
        "",
        "| # | member | type |",
        "|---|---|---|",
        *(f"| {i} | `{name}` | `{kind}` |" for i, (name, kind) in enumerate(boot_info_members())),
        "",
        "### ERC-165 interface ids",
        "",
        "| interface | id | functions |",
        "|---|---|---|",
        *(
            f"| `{name}` | `{interface_id(members)}` | {', '.join(f'`{m}`' for m in members)} |"
            for name, members in INTERFACES.items()
        ),
        "",
    ]
    for contract in CONTRACTS:
        lines += _contract_tables(contract)
    return "\n".join(lines)


def render_document(text: str) -> str:
    """Return `text` with everything after MARKER replaced by the freshly generated reference."""
    head, found, _ = text.partition(MARKER)
    if not found:
        raise ValueError(f"the document has no generated-section marker: {MARKER}")
    return f"{head}{MARKER}\n\n{render_tables()}"


def main(argv: Sequence[str]) -> int:
    """Rewrite the generated half of the document at argv[0] in place."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m contracts.interface_doc docs/interface.md\n")
        return 2
    path = Path(argv[0])
    try:
        path.write_text(render_document(path.read_text()))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
