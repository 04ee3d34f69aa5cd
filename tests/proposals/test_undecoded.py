"""Undecoded calls (imported from Safe{Wallet}): shown only when what is stored is exactly the calldata."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from web3 import Web3

from proposals.catalogue import Risk, get_action
from proposals.decode import Known
from proposals.errors import ActionsMismatch
from proposals.models import ActionCall, Proposal, ProposalKind, ProposalState, SafeTxData
from proposals.safe_tx import CALL, DELEGATECALL, ZERO_ADDRESS, multi_send_data
from proposals.stored_actions import describe_stored
from proposals.tx_import import decoded_actions
from proposals.undecoded import UNDECODED, undecoded_action

SAFE = Web3.to_checksum_address("0x" + "5a" * 20)
KMS = Web3.to_checksum_address("0x" + "4b" * 20)
MULTI_SEND = Web3.to_checksum_address("0x" + "3c" * 20)
TARGET = Web3.to_checksum_address("0x" + "2d" * 20)
KNOWN = Known(KMS, (MULTI_SEND,))
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ADD_IMAGE = get_action("kms-add-image").encode({"osImageHash": b"\x01" * 32})


def tx(to, data: bytes, operation: int = CALL, value: int = 0) -> SafeTxData:
    return SafeTxData(SAFE, 1337, "1.4.1", to, value, data, operation, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, 3)


def proposal(safe_tx: SafeTxData, actions: tuple[ActionCall, ...]) -> Proposal:
    return Proposal(1, ProposalKind.CHANGE, ProposalState.PENDING, "t", "", "safe-wallet:x", safe_tx, b"\x00" * 32,
                    actions, NOW, NOW, None)  # fmt: skip


def test_a_batch_decodes_what_the_catalogue_knows_and_keeps_the_rest_raw_and_high_risk():
    data = multi_send_data([(KMS, 0, ADD_IMAGE, CALL), (TARGET, 7, b"\xde\xad\xbe\xef", CALL)])
    safe_tx = tx(MULTI_SEND, data, DELEGATECALL)
    actions = decoded_actions(safe_tx, KNOWN)
    assert [a.action for a in actions] == ["kms-add-image", UNDECODED]
    described = describe_stored(proposal(safe_tx, actions), KNOWN)
    assert described[1].risk is Risk.HIGH and described[1].value == 7
    assert (
        described[1].description
        == f"Undecoded call to {TARGET} (selector 0xdeadbeef, 4 bytes of calldata) sending 7 wei"
    )


def test_a_delegatecall_elsewhere_is_one_undecoded_call_that_says_so():
    safe_tx = tx(TARGET, b"\x12\x34\x56\x78", DELEGATECALL)
    (action,) = decoded_actions(safe_tx, KNOWN)
    (call,) = describe_stored(proposal(safe_tx, (action,)), KNOWN)
    assert "DELEGATECALL, it runs with the Safe's full authority" in call.description and call.risk is Risk.HIGH


@pytest.mark.parametrize(
    "stored",
    [
        undecoded_action(TARGET, 0, b"\x12\x34\x56\x79", CALL),  # other calldata
        undecoded_action(TARGET, 1, b"\x12\x34\x56\x78", CALL),  # another value
        undecoded_action(TARGET, 0, b"\x12\x34\x56\x78", DELEGATECALL),  # another operation
        undecoded_action(KMS, 0, b"\x12\x34\x56\x78", CALL),  # another target
        ActionCall(UNDECODED, TARGET, {"value": "00", "operation": "0", "data": "0x12345678"}),  # not canonical
        ActionCall(UNDECODED, TARGET, {"value": "0", "operation": "0", "data": "0x12345678", "note": "safe"}),
    ],
)
def test_an_undecoded_call_that_is_not_exactly_the_calldata_is_never_shown(stored: ActionCall):
    with pytest.raises(ActionsMismatch):
        describe_stored(proposal(tx(TARGET, b"\x12\x34\x56\x78"), (stored,)), KNOWN)


def test_a_batch_with_a_hidden_value_is_never_shown():
    data = multi_send_data([(KMS, 0, ADD_IMAGE, CALL), (TARGET, 7, b"\xde\xad\xbe\xef", CALL)])
    safe_tx = tx(MULTI_SEND, data, DELEGATECALL)
    actions = decoded_actions(safe_tx, KNOWN)
    claimed = (actions[0], undecoded_action(TARGET, 0, b"\xde\xad\xbe\xef", CALL))
    with pytest.raises(ActionsMismatch):
        describe_stored(proposal(safe_tx, claimed), KNOWN)
    with pytest.raises(ActionsMismatch):  # the whole transaction's own value is not the batch's
        describe_stored(proposal(replace(safe_tx, value=1), actions), KNOWN)
