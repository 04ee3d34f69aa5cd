"""Log topics of the events the core reads, each derived from its contract's ABI (never a typed signature)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from safe_eth.eth.contracts import load_contract_interface

from contracts import app_abi, kms_abi

# Safe 1.3.0 declares the same events with fewer indexed arguments: same signature, so the same topic.
SAFE_ABI: Sequence[Mapping[str, Any]] = load_contract_interface("Safe_V1_4_1.json")["abi"]


def event_topic(abi: Sequence[Mapping[str, Any]], name: str) -> bytes:
    """Return topic 0 of the event `name` declared in `abi` (the keccak of its canonical signature)."""
    found = [item for item in abi if item.get("type") == "event" and item.get("name") == name]
    if len(found) != 1:
        raise LookupError(f"the ABI declares {len(found)} events named {name}")
    return bytes(event_abi_to_log_topic(cast(ABIEvent, found[0])))


def safe_topic(name: str) -> bytes:
    """Return the topic of the Safe event `name`."""
    return event_topic(SAFE_ABI, name)


def kms_topic(name: str) -> bytes:
    """Return the topic of the DstackKms event `name`."""
    return event_topic(kms_abi(), name)


def app_topic(name: str) -> bytes:
    """Return the topic of the DstackApp event `name`."""
    return event_topic(app_abi(), name)


EXECUTION_SUCCESS_TOPIC = safe_topic("ExecutionSuccess")
EXECUTION_FAILURE_TOPIC = safe_topic("ExecutionFailure")
UPGRADES_DISABLED_TOPIC = app_topic("UpgradesDisabled")
