"""The catalogue without a chain: every action round-trips, and Safe transactions decode into words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eth_typing import ChecksumAddress
from eth_utils.abi import abi_to_signature, get_abi_input_types
from hexbytes import HexBytes
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from web3 import Web3

from contracts import app_abi, kms_abi
from proposals.catalogue import CATALOGUE, Action, Group, Kind, Param, Risk, decode_call, get_action, render_value
from proposals.catalogue.model import split_types
from proposals.decode import Known, describe_tx, risk_warnings
from proposals.errors import InvalidInput
from proposals.models import SafeTxData
from proposals.safe_tx import CALL, DELEGATECALL, ZERO_ADDRESS, batch_call

W3 = Web3()
SAFE = Web3.to_checksum_address("0x" + "5a" * 20)
KMS = Web3.to_checksum_address("0x" + "4b" * 20)
APP = Web3.to_checksum_address("0x" + "a9" * 20)
MULTI_SEND = Web3.to_checksum_address("0x9641d764fc13c8B624c04430C7356C1C7C8102e2")
KNOWN = Known(KMS, (MULTI_SEND,))
# Mixed-case checksums, so a decoder that forgets to checksum an address is caught.
OWNERS = [Web3.to_checksum_address("0x" + f"{i:02x}" * 20) for i in (0xAB, 0xBC, 0xCD)]


class FakeReader:
    """A StateReader for encoding Safe actions: the owners list is all they read."""

    def read(self, group: Group, target: ChecksumAddress, getter: str, args: Sequence[Any] = ()) -> Any:
        assert (group, getter) == (Group.SAFE, "getOwners"), f"unexpected read {group} {getter}"
        return OWNERS

    def app_registered(self, app: ChecksumAddress) -> bool | None:
        return None


def sample(param: Param, index: int) -> Any:
    """Return a distinct typed value for `param` (index keeps neighbours apart, so swaps show)."""
    if param.kind is Kind.BYTES32:
        return bytes([index + 1]) * 32
    if param.kind is Kind.ADDRESS:
        return (
            OWNERS[index % len(OWNERS)]
            if param.name in ("owner", "oldOwner")
            else Web3.to_checksum_address("0x" + f"{0xA0 + index:02x}" * 20)
        )
    if param.kind is Kind.BOOL:
        return index % 2 == 0
    if param.kind is Kind.UINT:
        return index + 2
    if param.kind is Kind.BYTES:
        return bytes(range(index, index + 3 + index))
    if param.address_like:
        return Web3.to_checksum_address("0x" + f"{0xE0 + index:02x}" * 20)
    return f"text {index}"


def samples(action: Action) -> dict[str, Any]:
    return {p.name: sample(p, i) for i, p in enumerate(action.params)}


def target_of(action: Action) -> ChecksumAddress:
    return {Group.KMS: KMS, Group.APP: APP, Group.SAFE: SAFE}[action.group]


def abi_for(group: Group) -> Any:
    if group is Group.KMS:
        return W3.eth.contract(abi=kms_abi())
    if group is Group.APP:
        return W3.eth.contract(abi=app_abi())
    return get_safe_V1_4_1_contract(W3)


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_every_action_encodes_as_the_contract_abi_and_decodes_back(action: Action):
    values = samples(action)
    calldata = action.encode(values, FakeReader(), target_of(action))

    expected = abi_for(action.group).encode_abi(action.function, list(action.abi_args(values, FakeReader(), SAFE)))
    assert calldata == bytes(HexBytes(expected))
    assert calldata[:4] == bytes(Web3.keccak(text=action.function)[:4])
    assert action.decode(calldata) == values
    decoded = decode_call(action.group, calldata)
    assert decoded.action is action and decoded.values == values


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_every_action_takes_the_argument_types_of_its_abi_entry(action: Action):
    functions = [e for e in abi_for(action.group).abi if e.get("type") == "function"]
    entries = [e for e in functions if abi_to_signature(e) == action.function]
    assert len(entries) == 1, f"{action.function} is not in the {action.group.value} ABI"
    assert list(action.arg_types) == get_abi_input_types(entries[0])


def test_split_types_keeps_tuples_and_arrays_whole():
    assert split_types("f()") == ()
    assert split_types("setKmsInfo((bytes,bytes,bytes,bytes))") == ("(bytes,bytes,bytes,bytes)",)
    assert split_types("g(address,(uint256,(bytes,bool)[])[2],bytes32)") == (
        "address", "(uint256,(bytes,bool)[])[2]", "bytes32",
    )  # fmt: skip
    with pytest.raises(ValueError):
        split_types("h(uint7)")


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_every_value_renders_to_text_that_parses_back(action: Action):
    values = samples(action)
    assert action.parse({k: render_value(v) if not isinstance(v, bool) else v for k, v in values.items()}) == values


def test_the_catalogue_names_are_kebab_case_and_unique():
    names = [a.name for a in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(
        n == n.lower() and " " not in n and n.startswith(a.group.value + "-")
        for n, a in zip(names, CATALOGUE, strict=True)
    )
    assert get_action("kms add-image") is get_action("kms-add-image") is get_action("KMS_add_image")


def test_a_safe_action_needing_the_owners_refuses_to_encode_blind():
    with pytest.raises(InvalidInput) as caught:
        get_action("safe remove-owner").encode({"owner": OWNERS[1], "threshold": 1})
    assert caught.value.message == "this action needs the Safe's current owners to encode"


def test_remove_owner_points_at_the_linked_list_predecessor():
    action = get_action("safe remove-owner")
    first = action.abi_args({"owner": OWNERS[0], "threshold": 1}, FakeReader(), SAFE)
    third = action.abi_args({"owner": OWNERS[2], "threshold": 1}, FakeReader(), SAFE)
    assert first == ("0x0000000000000000000000000000000000000001", OWNERS[0], 1)
    assert third == (OWNERS[1], OWNERS[2], 1)


def test_get_action_suggests_close_matches():
    with pytest.raises(InvalidInput) as caught:
        get_action("kms add-imag")
    assert caught.value.message == (
        "unknown action 'kms add-imag'; did you mean kms-add-image or kms-add-mr or kms-add-device?"
    )
    with pytest.raises(InvalidInput) as nothing_close:
        get_action("launch rockets")
    assert nothing_close.value.message == "unknown action 'launch rockets'"


def tx(to: ChecksumAddress, data: bytes, operation: int = CALL, value: int = 0) -> SafeTxData:
    return SafeTxData(SAFE, 1337, "1.4.1", to, value, data, operation, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, 7)


def test_a_multisend_batch_is_described_call_by_call():
    image, compose = b"\x01" * 32, b"\x02" * 32
    calls = [
        (KMS, get_action("kms add-image").encode({"osImageHash": image})),
        (APP, get_action("app add-hash").encode({"composeHash": compose})),
        (SAFE, get_action("safe change-threshold").encode({"threshold": 2})),
    ]
    to, data, operation = batch_call(calls, MULTI_SEND)
    assert (to, operation) == (MULTI_SEND, DELEGATECALL)

    described = describe_tx(tx(to, data, operation), KNOWN)

    assert [c.action for c in described] == ["kms-add-image", "app-add-hash", "safe-change-threshold"]
    assert [c.to for c in described] == [KMS, APP, SAFE]
    assert described[0].description == "Allow OS image 0x" + "01" * 32
    assert described[1].description == f"Allow compose hash 0x{'02' * 32} on app {APP}"
    assert described[1].values == {"composeHash": "0x" + "02" * 32}
    assert described[2].risk is Risk.HIGH
    assert risk_warnings(tx(to, data, operation), described, KNOWN) == [
        f"high risk: Set the threshold of Safe {SAFE} to 2"
    ]


def test_a_single_call_is_sent_as_a_plain_call():
    calldata = get_action("kms add-image").encode({"osImageHash": b"\x05" * 32})
    assert batch_call([(KMS, calldata)], MULTI_SEND) == (KMS, calldata, CALL)


def test_a_foreign_call_is_unknown_and_high_risk():
    foreign = tx(APP, bytes.fromhex("deadbeef") + b"\x00" * 32, value=5)

    [call] = describe_tx(foreign, KNOWN)

    assert call.action is None and call.risk is Risk.HIGH
    assert call.description == f"Unknown call to {APP} (0xdeadbeef, 36 bytes) sending 5 wei"
    assert risk_warnings(foreign, [call], KNOWN) == [f"high risk: {call.description}"]


def test_a_known_selector_with_garbage_arguments_is_unknown():
    garbled = get_action("kms add-image").selector + b"\x01\x02"
    [call] = describe_tx(tx(KMS, garbled), KNOWN)
    assert call.action is None and call.risk is Risk.HIGH
    assert call.description == f"Unknown call to {KMS} (0x{garbled[:4].hex()}, 6 bytes)"


def test_a_delegatecall_elsewhere_than_multisend_call_only_is_flagged():
    stranger = Web3.to_checksum_address("0x" + "66" * 20)
    payload = get_action("kms add-image").encode({"osImageHash": b"\x01" * 32})
    strange = tx(stranger, payload, DELEGATECALL)

    [call] = describe_tx(strange, KNOWN)
    warnings = risk_warnings(strange, [call], KNOWN)

    assert call.risk is Risk.HIGH and call.action is None
    assert call.description == f"DELEGATECALL to {stranger}: it runs with the Safe's full authority"
    assert warnings == [f"DELEGATECALL to {stranger}, which is not MultiSendCallOnly"]


def test_a_rejection_reads_as_a_rejection():
    [call] = describe_tx(tx(SAFE, b""), KNOWN)
    assert call.description == "Reject: do nothing at nonce 7 (cancels what shares it)"
    assert call.risk is Risk.LOW and risk_warnings(tx(SAFE, b""), [call], KNOWN) == []


def test_a_plain_ether_transfer_names_the_amount():
    payee = Web3.to_checksum_address("0x" + "77" * 20)
    [call] = describe_tx(tx(payee, b"", value=10**18), KNOWN)
    assert (call.action, call.risk, call.value) == (None, Risk.MEDIUM, 10**18)
    assert call.description == f"Unknown call to {payee} (no data, 0 bytes) sending 1000000000000000000 wei"
