"""Revert data in words, without a chain: custom errors decode by their ABI types, tuples included."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from contracts import decode_revert

ACCOUNT = Web3.to_checksum_address("0x" + "ab" * 20)
# A custom error whose first parameter is a struct: its signature is Foo((uint256,address),bytes).
FOO = {
    "type": "error",
    "name": "Foo",
    "inputs": [
        {"name": "who", "type": "tuple", "components": [
            {"name": "amount", "type": "uint256"}, {"name": "account", "type": "address"},
        ]},
        {"name": "note", "type": "bytes"},
    ],
}  # fmt: skip


def test_custom_error_with_a_tuple_parameter_decodes_to_its_values():
    data = function_signature_to_4byte_selector("Foo((uint256,address),bytes)") + encode(
        ["(uint256,address)", "bytes"], [(7, ACCOUNT), b"\x01\x02"]
    )

    assert decode_revert(data, abi=[FOO]) == f"Foo((7, {ACCOUNT.lower()}), 0x0102)"


def test_custom_error_with_an_array_of_tuples_decodes():
    pair = [{"name": "a", "type": "uint8"}, {"name": "b", "type": "bool"}]
    bar = {"type": "error", "name": "Bar", "inputs": [{"name": "items", "type": "tuple[]", "components": pair}]}
    data = function_signature_to_4byte_selector("Bar((uint8,bool)[])") + encode(["(uint8,bool)[]"], [[(1, True)]])

    assert decode_revert(data, abi=[bar]) == "Bar(((1, True)))"  # eth-abi returns arrays as tuples


def test_our_contracts_errors_are_known_without_an_abi():
    data = function_signature_to_4byte_selector("OwnableUnauthorizedAccount(address)") + encode(["address"], [ACCOUNT])

    assert decode_revert(data) == f"OwnableUnauthorizedAccount({ACCOUNT.lower()})"


def test_unknown_and_malformed_custom_errors_are_named_as_such():
    selector = function_signature_to_4byte_selector("Foo((uint256,address),bytes)")

    assert (
        decode_revert(selector + b"\x00" * 3, abi=[FOO]) == f"reverted with undecodable data 0x{selector.hex()}000000"
    )
    assert decode_revert(selector) == f"reverted with unknown error 0x{selector.hex()}"
