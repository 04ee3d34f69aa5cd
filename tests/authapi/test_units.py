"""Pure parts of the webhook: the JSON-RPC codec, the block cache, the ABI calls, the layering."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from eth_abi.abi import encode

from authapi.cache import BlockCache
from authapi.contract import KmsCalls
from authapi.jsonrpc import RpcError, encode_batch, eth_call, hex_data, parse_entries, quantity, result_of
from authapi.request import BootAuthRequest
from tests.authapi.bodies import valid_body


def test_batch_ids_count_up_and_results_come_back_in_request_order():
    body = json.loads(encode_batch([("eth_blockNumber", []), eth_call("0xab", "0x01", "0x10")], 7))
    assert [c["id"] for c in body] == [7, 8]
    assert body[1]["params"] == [{"to": "0xab", "data": "0x01"}, "0x10"]
    answer = json.dumps([{"jsonrpc": "2.0", "id": 8, "result": "b"}, {"jsonrpc": "2.0", "id": 7, "result": "a"}])
    assert [result_of(e) for e in parse_entries(answer.encode(), 7, 2)] == ["a", "b"]


@pytest.mark.parametrize("ids", [[True, 2], [1.0, 2], [None, 2], [0, 1]])
def test_ids_must_be_exactly_the_ones_sent(ids):
    answer = json.dumps([{"jsonrpc": "2.0", "id": i, "result": "0x"} for i in ids]).encode()
    with pytest.raises(RpcError, match="id"):
        parse_entries(answer, 1, 2)


def test_node_error_text_is_bounded_and_on_one_line():
    answer = json.dumps([{"id": 1, "error": {"code": -32000, "message": "bad\nthing " + "x" * 500}}]).encode()
    with pytest.raises(RpcError) as info:
        result_of(parse_entries(answer, 1, 1)[0])
    assert "\n" not in info.value.reason
    assert len(info.value.reason) < 200


@pytest.mark.parametrize("value", ["0x", "0x00ff"])
def test_hex_data_accepts_even_prefixed_hex(value):
    assert hex_data(value) == bytes.fromhex(value[2:])


@pytest.mark.parametrize("value", ["", "00", "0x0", "0x 00", "0xgg", None, 5, ["0x"]])
def test_hex_data_refuses_anything_else(value):
    with pytest.raises(RpcError):
        hex_data(value)


@pytest.mark.parametrize(("value", "expected"), [("0x0", 0), ("0x10", 16), ("0xABC", 2748)])
def test_quantity(value, expected):
    assert quantity(value) == expected


@pytest.mark.parametrize("value", ["0x", "10", "0x-1", 16, None, "0x" + "f" * 65])
def test_quantity_refuses_anything_else(value):
    with pytest.raises(RpcError):
        quantity(value)


def test_cache_keeps_one_block_and_empties_when_the_head_moves_either_way():
    cache = BlockCache(max_entries=2)
    cache.observe(10)
    cache.store(10, "a", b"1")
    cache.store(9, "b", b"stale")
    assert (cache.lookup("a"), cache.lookup("b")) == (b"1", None)
    cache.observe(10)
    assert cache.lookup("a") == b"1"
    cache.observe(11)
    assert cache.lookup("a") is None
    cache.store(11, "a", b"2")
    cache.observe(10)
    assert (cache.block, len(cache)) == (10, 0)


def test_cache_is_bounded():
    cache = BlockCache(max_entries=2)
    cache.observe(1)
    for key in "abc":
        cache.store(1, key, b"x")
    assert len(cache) == 2
    assert cache.lookup("c") is None


def test_calls_match_the_spec_selectors():
    calls = KmsCalls.from_abi()
    assert calls.is_app_allowed.selector.hex() == "1e079198"
    assert calls.is_kms_allowed.selector.hex() == "e067ec9d"
    assert calls.gateway_app_id.calldata() == "0x95f51931"
    assert calls.app_implementation.calldata() == "0x25a992da"


def test_boot_calldata_follows_the_abi_struct_order():
    request = BootAuthRequest.model_validate(valid_body(advisoryIds=["A"]))
    expected = encode(
        ["(address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[])"],
        [
            (
                b"\x03" * 20, b"\x04" * 32, b"\x05" * 20, b"\x06" * 32, b"\x01" * 32,
                b"\x07" * 32, b"\x02" * 32, "UpToDate", ["A"],
            )
        ],
    )  # fmt: skip
    assert KmsCalls.from_abi().boot_calldata(False, request) == "0x1e079198" + expected.hex()
    assert KmsCalls.from_abi().boot_calldata(True, request) == "0xe067ec9d" + expected.hex()


def test_authapi_never_imports_the_cli():
    package = Path(__file__).resolve().parents[2] / "authapi"
    imported: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
    assert not {m for m in imported if m.split(".")[0] in {"click", "typer"} or m.startswith("dstack_gov.cli")}
