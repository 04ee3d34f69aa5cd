"""Call our contracts by function name in tests, and read back exactly what they emitted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

import pytest
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from contracts import Receipt, TransactionReverted, TransactionSender, load_artifact

# The policy names behind PolicyChanged's `policy` topic, as contracts/solidity/PolicyEvents.sol hashes them.
POLICY_NAMES = frozenset(
    {
        "osImage",
        "kmsAggregatedMr",
        "kmsDevice",
        "gatewayAppId",
        "appImplementation",
        "registeredApp",
        "kmsInfo",
        "kmsQuote",
        "kmsEventlog",
        "composeHash",
        "device",
        "allowAnyDevice",
        "requireTcbUpToDate",
        "upgradesDisabled",
    }
)
ZERO_ADDRESS = Web3.to_checksum_address("0x" + "00" * 20)
ZERO32 = b"\x00" * 32
# ERC-1967: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)
IMPLEMENTATION_SLOT = int.from_bytes(Web3.keccak(text="eip1967.proxy.implementation")) - 1


class Emitted(NamedTuple):
    """One decoded log: who emitted it, the event's name and its arguments."""

    address: ChecksumAddress
    name: str
    args: dict[str, Any]


def calldata(contract: Contract, fn: str, *args: Any) -> bytes:
    """Encode a call of `fn` (a name, or a full signature to pick an overload)."""
    return bytes(HexBytes(contract.encode_abi(fn, list(args))))


def send(sender: TransactionSender, contract: Contract, fn: str, *args: Any) -> Receipt:
    """Send `fn(*args)` to `contract` from `sender` and return the mined receipt."""
    return sender.send(contract.address, calldata(contract, fn, *args))


def call_as(sender: TransactionSender, contract: Contract, fn: str, *args: Any) -> bytes:
    """Simulate `fn(*args)` from `sender` and return the raw return data."""
    return sender.simulate(contract.address, calldata(contract, fn, *args))


def revert_reason(sender: TransactionSender, contract: Contract, fn: str, *args: Any) -> str:
    """Send `fn(*args)`, expecting it to revert, and return the decoded reason."""
    with pytest.raises(TransactionReverted) as caught:
        send(sender, contract, fn, *args)
    return caught.value.reason


def unauthorized(account: ChecksumAddress) -> str:
    """Return the reason OpenZeppelin's onlyOwner gives `account` (as contracts.decode_revert words it)."""
    return f"OwnableUnauthorizedAccount({account.lower()})"


def address_value(account: str) -> bytes:
    """Return `account` left-padded to 32 bytes, as PolicyChanged carries addresses."""
    return bytes(12) + bytes(HexBytes(account))


def policy_changed(
    contract: ChecksumAddress, actor: ChecksumAddress, policy: str, value: bytes, enabled: bool
) -> Emitted:
    """Return the PolicyChanged log that a change of `policy` must leave."""
    assert policy in POLICY_NAMES, f"unknown policy name {policy!r}"
    args = {"actor": actor, "policy": bytes(Web3.keccak(text=policy)), "value": value, "enabled": enabled}
    return Emitted(contract, "PolicyChanged", args)


@cache
def _event_abi() -> tuple[dict[str, Any], ...]:
    seen: dict[str, dict[str, Any]] = {}
    for name in ("DstackKms", "DstackApp"):
        for item in load_artifact(name).abi:
            if item["type"] == "event":
                key = item["name"] + "(" + ",".join(p["type"] for p in item["inputs"]) + ")"
                seen.setdefault(key, item)
    return tuple(seen.values())


def emitted(w3: Web3, logs: Receipt | Iterable[Mapping[str, Any]], only: Sequence[str] | None = None) -> list[Emitted]:
    """Decode every log (or those from the `only` addresses) with our contracts' event ABI."""
    raw = logs.logs if isinstance(logs, Receipt) else logs
    decoder = w3.eth.contract(abi=list(_event_abi()))
    result: list[Emitted] = []
    for log in raw:
        if only is not None and log["address"] not in only:
            continue
        topic = HexBytes(log["topics"][0]).to_0x_hex()
        data = decoder.get_event_by_topic(topic).process_log(log)  # type: ignore[arg-type]
        args = {key: bytes(v) if isinstance(v, bytes) else v for key, v in data["args"].items()}
        result.append(Emitted(Web3.to_checksum_address(log["address"]), data["event"], args))
    return result


def storage_address(w3: Web3, contract: ChecksumAddress, slot: int) -> ChecksumAddress:
    """Read an address stored in `slot` of `contract`."""
    return Web3.to_checksum_address(bytes(w3.eth.get_storage_at(contract, slot))[-20:])


class Whitelist(NamedTuple):
    """One whitelist of a contract: `add<item>`/`remove<item>`, the event argument, the getter and the policy."""

    item: str
    arg: str
    getter: str
    policy: str


def assert_whitelist_round_trip(w3: Web3, owner: TransactionSender, contract: Contract, spec: Whitelist,
                                value: bytes, other: bytes) -> None:  # fmt: skip
    """Add then remove `value`: each emits its event and PolicyChanged, and the getter follows."""
    for verb, enabled in (("Added", True), ("Removed", False)):
        receipt = send(owner, contract, ("add" if enabled else "remove") + spec.item, value)
        assert emitted(w3, receipt) == [
            Emitted(contract.address, f"{spec.item}{verb}", {spec.arg: value}),
            policy_changed(contract.address, owner.address, spec.policy, value, enabled),
        ]
        assert contract.functions[spec.getter](value).call() is enabled
        assert contract.functions[spec.getter](other).call() is False
