"""Reading many values in few round trips: JSON-RPC batches of eth_call, and logs of many contracts at once.

A policy with thousands of whitelist entries is confirmed against the contracts' mappings one call per
entry; sent one by one that is thousands of round trips. Sent as JSON-RPC batches it is a handful,
so the cost of reading a policy grows with the log chunks scanned, not with the entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3

from proposals.catalogue.model import split_types
from proposals.chain import block_ranges
from proposals.errors import ChainError, translate_chain_errors

# Public RPC providers cap a batch at a few hundred to a thousand calls; stay under the usual caps.
BATCH_CALLS = 500
# Addresses per eth_getLogs filter (providers accept lists; some cap their length).
LOG_ADDRESSES = 100


@dataclass(frozen=True)
class Call:
    """One view call: `function` is the signature, `returns` the ABI result types."""

    to: ChecksumAddress
    function: str
    args: tuple[Any, ...] = ()
    returns: tuple[str, ...] = ("bool",)

    def calldata(self) -> str:
        """Return the 0x-hex calldata."""
        arg_types = list(split_types(self.function))
        return "0x" + (function_signature_to_4byte_selector(self.function) + encode(arg_types, list(self.args))).hex()


def _decode(call: Call, raw: Any) -> Any:
    data = bytes(HexBytes(raw)) if raw is not None else b""
    if not data:
        return None  # no code there, or a function it does not have
    try:
        values = decode(list(call.returns), data)
    except Exception:  # noqa: BLE001 - a contract that answers in another shape is not the one we read
        return None
    return values[0] if len(values) == 1 else values


def call_many(w3: Web3, calls: Sequence[Call], block: int) -> list[Any]:
    """Run `calls` at `block`, in JSON-RPC batches; a call that reverts or answers nothing gives None."""
    results: list[Any] = []
    for start in range(0, len(calls), BATCH_CALLS):
        results.extend(_call_batch(w3, calls[start : start + BATCH_CALLS], block))
    return results


def _call_batch(w3: Web3, calls: Sequence[Call], block: int) -> list[Any]:
    requests = [("eth_call", [{"to": c.to, "data": c.calldata()}, hex(block)]) for c in calls]
    make_batch = getattr(w3.provider, "make_batch_request", None)
    responses: Any = None
    if make_batch is not None and len(calls) > 1:
        with translate_chain_errors("reading contract state"):
            responses = make_batch(requests)
    if not isinstance(responses, list) or len(responses) != len(calls):
        # No batches here (another provider, or a node that refuses them): one call at a time.
        return [_call_one(w3, call, block) for call in calls]
    out = []
    for call, response in zip(calls, responses, strict=True):
        if not isinstance(response, dict):
            raise ChainError("reading contract state failed: malformed batch answer from the RPC node")
        out.append(None if "error" in response else _decode(call, response.get("result")))
    return out


def _call_one(w3: Web3, call: Call, block: int) -> Any:
    try:
        with translate_chain_errors("reading contract state"):
            raw = w3.eth.call({"to": call.to, "data": HexBytes(call.calldata())}, block)
    except ChainError:
        return None  # a revert: the contract does not answer this call
    return _decode(call, raw)


def logs_of(
    w3: Web3,
    addresses: Sequence[ChecksumAddress],
    topics: Sequence[bytes],
    *,
    start: int,
    end: int,
    chunk_blocks: int,
) -> list[Any]:
    """Return the logs of `addresses` whose first topic is one of `topics` in [start, end], oldest first."""
    found: list[Any] = []
    if not addresses or end < start:
        return found
    wanted = [[HexBytes(t) for t in topics]]
    with translate_chain_errors("reading contract events"):
        for group_start in range(0, len(addresses), LOG_ADDRESSES):
            group = list(addresses[group_start : group_start + LOG_ADDRESSES])
            for low, high in block_ranges(start, end, chunk_blocks):
                found.extend(w3.eth.get_logs({"address": group, "fromBlock": low, "toBlock": high,
                                              "topics": wanted}))  # type: ignore[typeddict-item]  # fmt: skip
    return sorted(found, key=lambda entry: (entry["blockNumber"], entry["logIndex"]))
