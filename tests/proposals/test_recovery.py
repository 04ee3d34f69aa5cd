"""Execution recovery: a lost reply, a crash mid-execution and a failed execution are settled from the chain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hexbytes import HexBytes
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from web3 import Web3

from contracts import TransactionSender
from proposals.claims import run_claim
from proposals.execution import EXECUTION_SUCCESS_TOPIC, Executor, logged_safe_tx_hash
from proposals.models import Proposal, ProposalState
from proposals.reconcile import Reconciler
from proposals.safe_tx import read_safe_state, safe_tx_hashes
from proposals.service import GovernanceService
from proposals.signatures import combine, recheck
from tests.helpers.chain import dev_account
from tests.helpers.governance import EXECUTOR_INDEX, Governance
from tests.helpers.proposing import (
    event_names,
    events,
    execute_outside,
    image_allowed,
    propose_image,
    request,
    safe_nonce,
    sign,
)
from tests.helpers.rpc_proxy import RpcProxy

SENTINEL_OWNER = "0x0000000000000000000000000000000000000001"


class Crash(BaseException):
    """The process dies here (nothing in the core may catch it)."""


class CrashingSender(TransactionSender):
    """The real sender, dying at one chosen step: "prepare" (after the claim), "before-send" or "after-send"."""

    def __init__(self, w3: Web3, at: str) -> None:
        super().__init__(w3, dev_account(EXECUTOR_INDEX))
        self.at = at

    def prepare(self, tx, gas=None):  # type: ignore[no-untyped-def]
        if self.at == "prepare":
            raise Crash
        return super().prepare(tx, gas)

    def broadcast(self, raw: bytes) -> HexBytes:
        if self.at == "before-send":
            raise Crash
        sent = super().broadcast(raw)
        if self.at == "after-send":
            raise Crash
        return sent


def with_sender(gov: Governance, sender: TransactionSender) -> GovernanceService:
    svc = gov.service(with_executor=False)
    svc.executor = Executor(sender, gov.client)
    return svc


def successes(gov: Governance, proposal: Proposal) -> int:
    """Count the Safe's ExecutionSuccess events for this proposal's safeTxHash."""
    logs = gov.w3.eth.get_logs({"address": gov.safe, "fromBlock": 0, "topics": [HexBytes(EXECUTION_SUCCESS_TOPIC)]})
    return sum(1 for log in logs if logged_safe_tx_hash(log) == proposal.safe_tx_hash)


def executor_nonce(gov: Governance) -> int:
    return gov.w3.eth.get_transaction_count(dev_account(EXECUTOR_INDEX).address, "pending")


@contextmanager
def automine_off(gov: Governance) -> Iterator[None]:
    gov.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        yield
    finally:
        gov.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


# -- a reply lost on the way back --------------------------------------------------------------


def test_a_send_whose_reply_is_lost_is_found_on_chain_and_recorded_executed(gov, anvil):
    with RpcProxy(anvil.url, drop_replies_to={"eth_sendRawTransaction"}) as proxy:
        lossy = Web3(Web3.HTTPProvider(proxy.url, exception_retry_configuration=None))
        svc = with_sender(gov, TransactionSender(lossy, dev_account(EXECUTOR_INDEX)))
        p = propose_image(gov, 1, svc=svc)

        last = sign(gov, p.id, 0, 1, svc=svc)

    assert proxy.dropped == ["eth_sendRawTransaction"]  # the node took it; its answer never came back
    if last.proposal.state is ProposalState.EXECUTING:
        # anvil mines on its own task: the in-line look may come before the block. The next pass settles it.
        assert last.proposal.failure_reason.startswith("sent; outcome unknown")
        Reconciler(gov.service()).run()
    else:
        assert last.execution_error is None
    done = gov.store.get(p.id)
    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert safe_nonce(gov.w3, gov.safe) == 1 and successes(gov, p) == 1
    assert "state:executing->failed" not in event_names(gov, p.id)
    signed = [e.detail["txHash"] for e in events(gov, p.id) if e.event == "execution-signed"]
    assert signed == ["0x" + done.execution_tx_hash.hex()]  # recorded before the send, and the one mined


def test_a_lost_reply_before_the_node_mines_stays_executing_then_settles_when_mined(gov, anvil):
    with RpcProxy(anvil.url, drop_replies_to={"eth_sendRawTransaction"}) as proxy, automine_off(gov):
        lossy = Web3(Web3.HTTPProvider(proxy.url, exception_retry_configuration=None))
        svc = with_sender(gov, TransactionSender(lossy, dev_account(EXECUTOR_INDEX)))
        p = propose_image(gov, 1, svc=svc)
        sent_from = executor_nonce(gov)

        last = sign(gov, p.id, 0, 1, svc=svc)

        waiting = last.proposal
        assert waiting.state is ProposalState.EXECUTING and proxy.dropped == ["eth_sendRawTransaction"]
        assert waiting.failure_reason == last.execution_error
        assert waiting.failure_reason == (
            "sent; outcome unknown: executing the Safe transaction: the RPC node is unreachable"
        )
        first = Reconciler(gov.service()).run()
        still = gov.store.get(p.id)
        assert still.state is ProposalState.EXECUTING and still.failure_reason == "sent; waiting to be mined"
        assert first.released == [] and first.rebroadcast == [] and first.errors == []
        assert executor_nonce(gov) == sent_from + 1  # nothing sent twice
        gov.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    Reconciler(gov.service()).run()

    done = gov.store.get(p.id)
    assert done.state is ProposalState.EXECUTED and done.failure_reason is None and image_allowed(gov, 1)
    assert safe_nonce(gov.w3, gov.safe) == 1 and successes(gov, p) == 1
    assert "state:executing->failed" not in event_names(gov, p.id)


# -- a crash mid-execution ---------------------------------------------------------------------


def test_a_crash_between_claim_and_send_is_released_by_the_next_reconcile_without_waiting(gov):
    crashing = with_sender(gov, CrashingSender(gov.w3, "prepare"))
    p = propose_image(gov, 1, svc=crashing)
    with pytest.raises(Crash):
        sign(gov, p.id, 0, 1, svc=crashing)
    assert gov.store.get(p.id).state is ProposalState.EXECUTING and gov.store.signed_executions(p.id) == []
    frozen = gov.clock.now

    report = Reconciler(gov.service()).run()

    assert gov.clock.now == frozen  # released at once: no timeout had to pass
    assert report.released == [p.id] and report.executed == [p.id]
    assert gov.store.get(p.id).state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert safe_nonce(gov.w3, gov.safe) == 1 and successes(gov, p) == 1


@pytest.mark.parametrize("at", ["before-send", "after-send"])
def test_a_crash_after_recording_the_signed_tx_is_executed_exactly_once(gov, at):
    crashing = with_sender(gov, CrashingSender(gov.w3, at))
    p = propose_image(gov, 1, svc=crashing)
    with pytest.raises(Crash):
        sign(gov, p.id, 0, 1, svc=crashing)
    [recorded] = gov.store.signed_executions(p.id)
    assert gov.store.get(p.id).state is ProposalState.EXECUTING
    restarted = gov.service()

    first = Reconciler(restarted).run()
    Reconciler(restarted).run()

    done = gov.store.get(p.id)
    assert first.rebroadcast == ([p.id] if at == "before-send" else []) and first.released == []
    assert done.state is ProposalState.EXECUTED and done.execution_tx_hash == recorded.tx_hash
    assert safe_nonce(gov.w3, gov.safe) == 1 and successes(gov, p) == 1 and image_allowed(gov, 1)
    assert executor_nonce(gov) == recorded.sender_nonce + 1  # one executor transaction, not two


@pytest.mark.parametrize("known", ["from-events", "recorded"])
def test_an_executing_proposal_whose_rejection_used_its_nonce_is_cancelled(gov, known):
    plain = gov.service(with_executor=False)
    p = propose_image(gov, 1, svc=plain)
    sign(gov, p.id, 0, svc=plain)
    rejection = plain.cancel(p.id, actor="test").rejection
    assert rejection is not None
    with pytest.raises(Crash):  # signed and recorded, never sent: it stays executing
        sign(gov, p.id, 1, svc=with_sender(gov, CrashingSender(gov.w3, "before-send")))
    sign(gov, rejection.id, 0, 1, svc=plain)
    tx_hash = execute_outside(gov, rejection, gov.owners[:2])
    if known == "recorded":  # a pass already recorded the rejection; recovery meets the executing proposal
        gov.store.transition(rejection.id, ProposalState.EXECUTED, actor="chain", expected=[ProposalState.APPROVED],
                             execution_tx_hash=tx_hash)  # fmt: skip
    assert gov.store.get(p.id).state is ProposalState.EXECUTING

    first = Reconciler(gov.service()).run()
    second = Reconciler(gov.service()).run()

    assert first.errors == [] and second.errors == []
    cancelled = gov.store.get(p.id)
    assert cancelled.state is ProposalState.CANCELLED and gov.store.get(rejection.id).state is ProposalState.EXECUTED
    assert events(gov, p.id)[-1].detail["rejectedBy"] == rejection.id
    assert first.cancelled == ([p.id] if known == "recorded" else [])
    assert safe_nonce(gov.w3, gov.safe) == 1 and successes(gov, p) == 0 and not image_allowed(gov, 1)


def test_a_claim_released_by_recovery_before_signing_sends_nothing(gov):
    p = propose_image(gov, 1, svc=gov.service(with_executor=False))
    sign(gov, p.id, 0, 1, svc=gov.service(with_executor=False))
    hashes = safe_tx_hashes(p.safe_tx)
    valid = recheck(gov.client, read_safe_state(gov.w3, gov.safe), hashes, gov.store.signatures(p.id)).valid
    # A slow process claimed it; recovery (in another process) saw nothing signed and released it.
    claimed = gov.store.transition(p.id, ProposalState.EXECUTING, actor="slow", expected=[ProposalState.APPROVED],
                                   execution_claim="slow-claim")  # fmt: skip
    assert gov.store.release_unsent(p.id, "slow-claim", actor="reconcile", reason="test") is not None
    before = executor_nonce(gov)

    after = run_claim(gov.service(), claimed, combine(valid, hashes), hashes.safe_tx_hash, "slow")

    assert after.state is ProposalState.APPROVED and executor_nonce(gov) == before and safe_nonce(gov.w3, gov.safe) == 0
    assert "execution-signed" not in event_names(gov, p.id)


# -- failed executions are retried while they can run ------------------------------------------


def failed_take_over(gov: Governance, kms_setup):
    """A proposal to accept a KMS's ownership that failed at execution (the pending owner changed meanwhile)."""
    eoa, second = kms_setup.sender(), kms_setup.kms
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [gov.safe]))))
    p = gov.svc.propose(request("Take over KMS 2", ("kms accept-ownership", {}, second.address)), proposer="test")
    sign(gov, p.id, 0)
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [dev_account(5).address]))))
    failed = sign(gov, p.id, 1).proposal
    assert failed.state is ProposalState.FAILED and safe_nonce(gov.w3, gov.safe) == 0
    eoa.send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [gov.safe]))))  # fixed
    return second, failed


def test_reconcile_retries_a_failed_proposal_that_still_has_quorum(gov, kms_setup):
    second, failed = failed_take_over(gov, kms_setup)

    report = Reconciler(gov.service()).run()

    assert report.retried == [failed.id] and report.executed == [failed.id]
    assert gov.store.get(failed.id).state is ProposalState.EXECUTED
    assert second.functions.owner().call() == gov.safe and safe_nonce(gov.w3, gov.safe) == 1


def test_reconcile_leaves_failed_a_proposal_that_lost_quorum(gov, kms_setup):
    second, failed = failed_take_over(gov, kms_setup)
    remove_owner_as_a_module(gov, gov.owners[0].address)

    report = Reconciler(gov.service()).run()

    kept = gov.store.get(failed.id)
    assert report.retried == [] and (failed.id, gov.owners[0].address) in report.dropped_signatures
    assert kept.state is ProposalState.FAILED and kept.failure_reason == failed.failure_reason
    assert second.functions.owner().call() != gov.safe and safe_nonce(gov.w3, gov.safe) == 0


def remove_owner_as_a_module(gov: Governance, owner: str) -> None:
    """Remove an owner without using a Safe nonce, as an enabled module can (here: anvil acts as the Safe)."""
    safe = get_safe_V1_4_1_contract(gov.w3, gov.safe)
    owners = safe.functions.getOwners().call()
    previous = SENTINEL_OWNER if owners[0] == owner else owners[owners.index(owner) - 1]
    rpc = gov.w3.provider
    rpc.make_request("anvil_impersonateAccount", [gov.safe])  # type: ignore[arg-type]
    rpc.make_request("anvil_setBalance", [gov.safe, hex(10**18)])  # type: ignore[arg-type]
    try:
        data = safe.encode_abi("removeOwner", [previous, owner, gov.threshold])
        tx_hash = gov.w3.eth.send_transaction({"from": gov.safe, "to": gov.safe, "data": data})
        assert gov.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)["status"] == 1
    finally:
        rpc.make_request("anvil_stopImpersonatingAccount", [gov.safe])  # type: ignore[arg-type]
