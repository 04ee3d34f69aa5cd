"""The boot-info struct encoder: byte for byte what eth_abi encodes, and nothing it cannot encode."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi.abi import encode

from authapi.contract import KmsCalls, ViewFunction
from authapi.request import MAX_ADVISORY_ID_CHARS, MAX_ADVISORY_IDS, MAX_TCB_STATUS_CHARS, BootAuthRequest
from authapi.struct_encoding import StructEncoder
from contracts import kms_abi

BOOT_INFO = "(address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[])"
ALPHABET = 'abcXYZ09 -_"\\/ü€𝄞\u2028\x00'


def random_text(rng: random.Random, limit: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 31, 32, 33, limit, rng.randint(0, limit)])))


def random_hex(rng: random.Random, width: int) -> str:
    digits = rng.choice([0, 1, 2 * width - 1, 2 * width, rng.randint(0, 2 * width)])
    return rng.choice(["0x", "0X", ""]) + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(digits))


def random_request(rng: random.Random) -> BootAuthRequest:
    body: dict[str, Any] = {
        "appId": random_hex(rng, 20),
        "composeHash": random_hex(rng, 32),
        "instanceId": random_hex(rng, 20),
        "deviceId": random_hex(rng, 32),
        "mrAggregated": random_hex(rng, 32),
        "osImageHash": random_hex(rng, 32),
        "mrSystem": random_hex(rng, 32),
        "tcbStatus": random_text(rng, MAX_TCB_STATUS_CHARS),
        "advisoryIds": [
            random_text(rng, MAX_ADVISORY_ID_CHARS)
            for _ in range(rng.choice([0, 1, 2, MAX_ADVISORY_IDS, rng.randint(0, MAX_ADVISORY_IDS)]))
        ],
    }
    return BootAuthRequest.model_validate(body)


def eth_abi_calldata(function: ViewFunction, request: BootAuthRequest) -> str:
    members = tuple(request.member(m) for m in function.struct_members)
    return "0x" + (function.selector + encode([BOOT_INFO], [members])).hex()


def test_both_boot_checks_encode_every_request_as_eth_abi_does():
    rng = random.Random(20261202)
    calls = KmsCalls.from_abi()
    for function in (calls.is_app_allowed, calls.is_kms_allowed):
        assert function.struct_encoder is not None  # the fast path is the one in use
    for _ in range(300):
        request = random_request(rng)
        for for_kms, function in ((False, calls.is_app_allowed), (True, calls.is_kms_allowed)):
            assert calls.boot_calldata(for_kms, request) == eth_abi_calldata(function, request)


@pytest.mark.parametrize(
    "types",
    [["address", "bytes32"], ["bytes1", "bytes20", "address"], ["string"], ["string[]", "bytes4", "string"]],
)
def test_other_shapes_match_eth_abi_too(types):
    rng = random.Random(7)
    samples = {
        "address": lambda: rng.randbytes(20),
        "string": lambda: random_text(rng, 70),
        "string[]": lambda: [random_text(rng, 40) for _ in range(rng.randint(0, 5))],
    }
    for _ in range(50):
        values = [samples[t]() if t in samples else rng.randbytes(rng.randint(0, int(t[5:]))) for t in types]
        assert StructEncoder(types).encode(values) == encode([f"({','.join(types)})"], [tuple(values)])


@pytest.mark.parametrize("member", ["uint256", "bool", "bytes", "bytes33", "address[]", "(address,bytes32)"])
def test_an_unsupported_member_kind_is_refused_and_eth_abi_encodes_instead(member):
    with pytest.raises(ValueError, match="not supported"):
        StructEncoder(["address", member])
    abi = [
        item if item.get("name") != "isAppAllowed"
        else {**item, "inputs": [{**item["inputs"][0], "components": [*item["inputs"][0]["components"],
                                                                   {"name": "extra", "type": "uint256"}]}]}
        for item in kms_abi()
    ]  # fmt: skip
    function = ViewFunction.from_abi(abi, "isAppAllowed")
    assert function.struct_encoder is None
    members = [b"\x01" * 20, b"\x02" * 32, b"\x03" * 20, *[b"\x04" * 32] * 4, "s", ["a"], 7]
    expected = encode([function.input_types[0]], [tuple(members)])
    assert function.struct_calldata(members) == "0x" + (function.selector + expected).hex()


@pytest.mark.parametrize(
    ("types", "values", "message"),
    [
        (["address"], [b"\x01" * 19], "20 bytes"),
        (["bytes4"], [b"\x01" * 5], "at most 4 bytes"),
        (["bytes4"], ["0x01"], "at most 4 bytes"),
        (["string"], [b"x"], "must be a str"),
        (["string[]"], ["x"], "must be a list"),
        (["string[]"], [[1]], "must be a str"),
        (["address", "string"], [b"\x01" * 20], "2 members, not 1"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(types, values, message):
    with pytest.raises(ValueError, match=message):
        StructEncoder(types).encode(values)
