"""The JSON-RPC 2.0 batch codec: build a batch, and check every part of the answer before trusting it."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from typing import Any

from foundation.bounded import ParseError, loads_json

_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,64}")
_MAX_NODE_MESSAGE = 160
# A node's answer is parsed within bounds like any outside input: a deep one must not reach json.loads.
MAX_ANSWER_BYTES = 16 * 1024 * 1024

Call = tuple[str, list[Any]]


class RpcError(Exception):
    """The chain could not be read for sure: unreachable, slow, an error, or a malformed answer.

    `node_failure` names how the node itself failed (timeout, connection, http_5xx, http_429), which
    another node may not share; it is None when the node did answer (an error entry is an answer).
    """

    def __init__(self, reason: str, *, node_failure: str | None = None) -> None:
        self.reason = reason
        self.node_failure = node_failure
        super().__init__(reason)


def eth_call(to: str, data: str, block: str = "latest") -> Call:
    """Return an eth_call of `data` on `to` at `block` (a tag or a 0x quantity)."""
    return ("eth_call", [{"to": to, "data": data}, block])


def encode_batch(calls: Sequence[Call], first_id: int) -> bytes:
    """Return the request body: one JSON array, ids counting up from `first_id`."""
    return json.dumps(
        [{"jsonrpc": "2.0", "id": first_id + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)],
        separators=(",", ":"),
    ).encode()


def _describe_error(error: object) -> str:
    if isinstance(error, dict):
        message = " ".join(str(error.get("message", "")).split())[:_MAX_NODE_MESSAGE]
        return f"{error.get('code')} {message}".strip()
    return "malformed error"


def parse_entries(content: bytes, first_id: int, count: int) -> list[dict[str, Any]]:
    """Return the `count` answer entries in request order; raise RpcError unless ids match one to one."""
    try:
        payload = loads_json(content, max_bytes=MAX_ANSWER_BYTES)
    except ParseError as exc:
        raise RpcError(f"RPC answer refused: {exc.reason}") from None
    if isinstance(payload, dict) and "error" in payload:
        raise RpcError(f"RPC node rejected the batch: {_describe_error(payload['error'])}")
    if not isinstance(payload, list):
        raise RpcError("RPC answer is not a batch")
    if len(payload) != count:
        raise RpcError(f"RPC answer has {len(payload)} entries for {count} calls")
    by_id: dict[int, dict[str, Any]] = {}
    for entry in payload:
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if type(entry_id) is not int or not first_id <= entry_id < first_id + count or entry_id in by_id:
            raise RpcError("RPC answer has a missing, unknown or repeated id")
        by_id[entry_id] = entry
    return [by_id[i] for i in range(first_id, first_id + count)]


def result_of(entry: dict[str, Any]) -> Any:
    """Return an entry's result; raise RpcError for an error entry or one without a result."""
    if "error" in entry:
        raise RpcError(f"RPC error: {_describe_error(entry['error'])}")
    if "result" not in entry:
        raise RpcError("RPC answer entry has neither result nor error")
    return entry["result"]


def call_key(call: Call) -> Hashable:
    """Return a key equal for identical calls, so a shared batch asks each only once."""
    method, params = call
    if method == "eth_call":
        target, block = params
        return (method, target["to"], target["data"], block)
    return (method, json.dumps(params, sort_keys=True))


def hex_data(value: object) -> bytes:
    """Decode a 0x-prefixed byte string result."""
    if not isinstance(value, str) or not _DATA.fullmatch(value):
        raise RpcError("RPC result is not 0x-prefixed hex data")
    return bytes.fromhex(value[2:])


def quantity(value: object) -> int:
    """Decode a 0x-prefixed quantity (block number, chain id)."""
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise RpcError("RPC result is not a 0x quantity")
    return int(value, 16)
