"""Execution: at quorum, without an executor, when the inner call fails, when the network is slow, on Safe 1.3.0."""

from __future__ import annotations

import threading
import time

import pytest
from hexbytes import HexBytes
from web3 import Web3

from contracts import Receipt, TransactionSender, deploy_kms, kms_contract
from contracts.deployment import deploy_implementation
from dstack_gov.safe_infra import create_safe
from proposals.errors import InvalidInput
from proposals.execution import EXECUTION_FAILURE_TOPIC, EXECUTION_SUCCESS_TOPIC, Executor, safe_outcome
from proposals.models import ProposalState
from proposals.reconcile import Reconciler
from proposals.service import GovernanceService
from proposals.store import open_store
from tests.helpers.chain import dev_account
from tests.helpers.governance import EXECUTOR_INDEX, Governance
from tests.helpers.proposing import (
    add_image,
    event_names,
    events,
    execute_outside,
    image_allowed,
    propose_image,
    request,
    safe_nonce,
    sign,
    word,
)

APP_LIKE = Web3.to_checksum_address("0x" + "a9" * 20)
GS013 = "execution would revert: GS013: the inner call failed (safeTxGas and gasPrice are 0)"


def test_the_signature_meeting_the_threshold_executes_at_once(gov_m_of_n: Governance):
    gov = gov_m_of_n
    p = propose_image(gov, 1)
    for owner in range(gov.threshold - 1):
        early = sign(gov, p.id, owner)
        assert early.proposal.state is ProposalState.PENDING and not image_allowed(gov, 1)

    last = sign(gov, p.id, gov.threshold - 1)

    done = last.proposal
    assert (last.valid_count, last.threshold, last.execution_error) == (gov.threshold, gov.threshold, None)
    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1) and safe_nonce(gov.w3, gov.safe) == 1
    receipt = gov.w3.eth.get_transaction_receipt(HexBytes(done.execution_tx_hash))
    sent = gov.w3.eth.get_transaction(HexBytes(done.execution_tx_hash))
    assert (receipt["blockNumber"], receipt["gasUsed"]) == (done.execution_block, done.execution_gas)
    assert (sent["from"], sent["to"]) == (dev_account(EXECUTOR_INDEX).address, gov.safe)
    assert event_names(gov, p.id) == [
        "created",
        "planned",
        *["signature"] * gov.threshold,
        "state:pending->approved",
        "state:approved->executing",
        "execution-signed",
        "state:executing->executed",
    ]
    executed = events(gov, p.id)[-1]
    assert executed.actor == "auto" and executed.detail["nonceUsed"] is True
    signed = events(gov, p.id)[-2].detail  # written before the broadcast
    assert signed == {"txHash": "0x" + done.execution_tx_hash.hex(), "sender": sent["from"],
                      "senderNonce": sent["nonce"]}  # fmt: skip
    assert executed.detail["broadcasts"] == ["0x" + done.execution_tx_hash.hex()]


def test_without_an_executor_a_proposal_waits_approved_and_execute_explains(gov):
    svc = gov.service(with_executor=False)
    p = propose_image(gov, 1, svc=svc)

    result = sign(gov, p.id, 0, 1, svc=svc)

    assert result.proposal.state is ProposalState.APPROVED and result.execution_error is None
    with pytest.raises(InvalidInput) as caught:
        svc.execute(p.id, actor="test")
    assert caught.value.message == "no executor key is configured ([executor] in the config)"
    assert svc.get(p.id).state is ProposalState.APPROVED and not image_allowed(gov, 1)
    assert gov.service().execute(p.id, actor="later").state is ProposalState.EXECUTED and image_allowed(gov, 1)


def pending_ownership(gov: Governance, kms_setup):
    """Make the Safe the pending owner of a KMS an EOA owns, and propose accepting it (one signature)."""
    eoa = kms_setup.sender()
    second = kms_setup.kms
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [gov.safe]))))
    p = gov.svc.propose(request("Take over KMS 2", ("kms accept-ownership", {}, second.address)), proposer="test")
    sign(gov, p.id, 0)
    return eoa, second, p


def test_an_inner_call_that_reverts_at_execution_fails_without_using_the_nonce_and_can_be_retried(gov, kms_setup):
    eoa, second, p = pending_ownership(gov, kms_setup)
    elsewhere = dev_account(5).address
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [elsewhere]))))

    signed = sign(gov, p.id, 1)
    failed = signed.proposal
    reason = f"{GS013}; the inner call reverts: OwnableUnauthorizedAccount({gov.safe.lower()})"

    assert failed.state is ProposalState.FAILED and failed.failure_reason == reason
    assert signed.execution_error == reason
    assert failed.execution_tx_hash is None and safe_nonce(gov.w3, gov.safe) == 0
    assert events(gov, p.id)[-1].detail == {"nonceUsed": False, "failure_reason": reason}
    assert gov.store.reserved_nonces(gov.safe) == {0}

    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [gov.safe]))))
    retried = gov.svc.execute(p.id, actor="retry")

    assert retried.state is ProposalState.EXECUTED and retried.failure_reason is None
    assert second.functions.owner().call() == gov.safe and safe_nonce(gov.w3, gov.safe) == 1
    assert event_names(gov, p.id)[-3:] == ["state:failed->executing", "execution-signed", "state:executing->executed"]


def test_a_failed_proposal_can_be_replaced_at_its_nonce(gov, kms_setup):
    eoa, second, p = pending_ownership(gov, kms_setup)
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [dev_account(5).address]))))
    assert sign(gov, p.id, 1).proposal.state is ProposalState.FAILED
    assert propose_image(gov, 2).nonce == 1  # a failed proposal still holds its nonce

    replacement = propose_image(gov, 1, nonce=p.nonce)
    assert sign(gov, replacement.id, 0, 2).proposal.state is ProposalState.EXECUTED

    report = Reconciler(gov.svc).run()
    assert report.superseded == [p.id]
    assert gov.svc.get(p.id).state is ProposalState.SUPERSEDED


def test_a_stuck_execution_is_rebroadcast_at_the_same_nonce_with_higher_fees(gov, anvil):
    sender = TransactionSender(gov.w3, dev_account(EXECUTOR_INDEX), stuck_after=0.3, receipt_timeout=20)
    svc = gov.service(with_executor=False)
    svc.executor = Executor(sender, gov.client)
    p = propose_image(gov, 1, svc=svc)
    sign(gov, p.id, 0, svc=svc)
    rpc = Web3(Web3.HTTPProvider(anvil.url)).provider
    mined: list[bool] = []

    def mine_after_the_second_broadcast() -> None:
        deadline = time.monotonic() + 10
        while len(sender.broadcasts) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        rpc.make_request("evm_mine", [])  # type: ignore[arg-type]
        mined.append(True)

    gov.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    miner = threading.Thread(target=mine_after_the_second_broadcast, daemon=True)
    try:
        first_fees = sender.fees()
        executor_nonce = gov.w3.eth.get_transaction_count(sender.address)
        miner.start()
        done = sign(gov, p.id, 1, svc=svc).proposal
    finally:
        gov.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        miner.join(timeout=15)
    assert mined == [True]

    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    broadcasts = events(gov, p.id)[-1].detail["broadcasts"]
    assert len(broadcasts) >= 2 and len(set(broadcasts)) == len(broadcasts)
    index = broadcasts.index("0x" + done.execution_tx_hash.hex())
    assert index >= 1, broadcasts
    expected = dict(first_fees)
    for _ in range(index):
        expected = {k: v * 9 // 8 + 1 for k, v in expected.items()}
    tx = gov.w3.eth.get_transaction(HexBytes(done.execution_tx_hash))
    assert (tx["maxFeePerGas"], tx["maxPriorityFeePerGas"]) == (
        expected["maxFeePerGas"],
        expected["maxPriorityFeePerGas"],
    )
    assert tx["maxFeePerGas"] > first_fees["maxFeePerGas"] and tx["nonce"] == executor_nonce


def test_a_safe_v130_proposes_a_batch_and_executes_it(gov, tmp_path):
    owners = [dev_account(1), dev_account(2)]
    deployer = TransactionSender(gov.w3, dev_account(0))
    safe = create_safe(gov.client, dev_account(0), gov.infra, [o.address for o in owners], 2, version="1.3.0")
    app_impl = deploy_implementation(deployer, "DstackApp").contract_address
    assert app_impl is not None
    kms = deploy_kms(deployer, safe, app_impl).proxy
    svc = GovernanceService(
        client=gov.client,
        store=open_store(f"sqlite:///{tmp_path / 'v130.sqlite'}"),
        safes=[safe],
        kms=kms,
        settings=gov.settings(),
        executor=Executor(TransactionSender(gov.w3, dev_account(EXECUTOR_INDEX)), gov.client),
    )
    batch = request(
        "Two images",
        ("kms add-image", {"osImageHash": word(1)}, None),
        ("kms add-image", {"osImageHash": word(2)}, None),
    )
    p = svc.propose(batch, proposer="test")
    assert (p.safe_tx.safe_version, p.safe_tx.operation, p.safe_tx.to) == ("1.3.0", 1, gov.infra.multi_send_call_only)
    assert [c.description for c in svc.view(p.id).calls] == [f"Allow OS image {word(1)}", f"Allow OS image {word(2)}"]

    svc.sign_with_account(p.id, owners[1], source="test")
    done = svc.sign_with_account(p.id, owners[0], source="test").proposal

    assert done.state is ProposalState.EXECUTED
    allowed = kms_contract(gov.w3, kms).functions.allowedOsImages
    assert allowed(bytes(HexBytes(word(1)))).call() and allowed(bytes(HexBytes(word(2)))).call()
    assert safe_nonce(gov.w3, safe) == 1

    # Safe 1.3.0 logs the safeTxHash in the event data, not as a topic: reconcile still finds it.
    later = svc.propose(add_image(word(3)), proposer="test")
    tx_hash = execute_outside(gov, later, owners)
    report = Reconciler(svc).run()
    assert report.executed_elsewhere == [later.id] and svc.get(later.id).execution_tx_hash == tx_hash


def test_the_safe_outcome_is_read_from_both_event_layouts():
    safe, ours = Web3.to_checksum_address("0x" + "5a" * 20), b"\x42" * 32
    indexed = {"address": safe, "topics": [EXECUTION_SUCCESS_TOPIC, ours], "data": bytes(32)}  # Safe 1.4.x
    in_data = {"address": safe, "topics": [EXECUTION_FAILURE_TOPIC], "data": ours + bytes(32)}  # Safe 1.3.0

    def receipt(*logs: dict) -> Receipt:
        return Receipt(HexBytes(b"\x01" * 32), 1, 21_000, 1, None, logs)

    assert safe_outcome(receipt(indexed), safe, ours) is True
    assert safe_outcome(receipt(in_data), safe, ours) is False
    assert safe_outcome(receipt(indexed, in_data), safe, b"\x43" * 32) is None
    assert safe_outcome(receipt({**indexed, "address": APP_LIKE}), safe, ours) is None


def test_a_batch_on_the_v141_safe_executes_every_action(gov):
    app = gov.app_address
    batch = request(
        "Release",
        ("kms add-image", {"osImageHash": word(1)}, None),
        ("app add-hash", {"composeHash": word(2)}, app),
        ("app set-allow-any-device", {"allowAny": "true"}, app),
    )
    p = gov.svc.propose(batch, proposer="test")

    done = sign(gov, p.id, 2, 0).proposal

    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert gov.app.functions.allowedComposeHashes(bytes(HexBytes(word(2)))).call()
    assert gov.app.functions.allowAnyDevice().call() is True
    planned = events(gov, p.id)[1]
    assert planned.event == "planned" and planned.detail["warnings"] == []
    assert planned.detail["changes"] == [
        {"action": "kms-add-image", "what": f"OS image {word(1)} allowed", "before": "false", "after": "true"},
        {"action": "app-add-hash", "what": f"compose hash {word(2)} allowed", "before": "false", "after": "true"},
        {"action": "app-set-allow-any-device", "what": "allow any device", "before": "false", "after": "true"},
    ]
