"""The executor waits under a fee ceiling instead of overpaying, and warns once per low-balance crossing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from web3 import Web3

from proposals.executor_funds import GWEI, FeesTooHigh
from proposals.models import ProposalState
from proposals.service import GovernanceService
from tests.helpers.governance import Governance
from tests.helpers.proposing import event_names, events, image_allowed, propose_image, sign

CEILING = 5 * GWEI


def next_base_fee(gov: Governance) -> int:
    return int(gov.w3.eth.fee_history(1, "latest", [])["baseFeePerGas"][-1])


def set_next_base_fee(gov: Governance, wei: int) -> None:
    gov.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(wei)])  # type: ignore[arg-type]


@pytest.fixture
def market(gov: Governance) -> Iterator[None]:
    """Leave anvil's next base fee as it found it (the session chain outlives this test's snapshot)."""
    before = next_base_fee(gov)
    try:
        yield
    finally:
        set_next_base_fee(gov, before)


def capped_service(gov: Governance) -> tuple[GovernanceService, list[tuple[int, str]]]:
    svc = gov.service()
    assert svc.executor is not None
    svc.executor.sender.max_fee_per_gas = CEILING
    heard: list[tuple[int, str]] = []
    svc.subscribe(lambda pid, event: heard.append((pid, event)))
    return svc, heard


def test_above_the_ceiling_execution_waits_says_so_once_and_runs_when_fees_drop(gov, market):
    svc, heard = capped_service(gov)
    proposal = propose_image(gov, 1, svc=svc)
    set_next_base_fee(gov, 50 * GWEI)
    result = sign(gov, proposal.id, 0, 1, svc=svc)
    assert result.proposal.state is ProposalState.APPROVED
    assert result.execution_error is not None and "above the executor's ceiling of 5 gwei" in result.execution_error
    wait = svc.fee_wait(proposal.id)
    assert wait is not None and wait.base_fee == 50 * GWEI
    with pytest.raises(FeesTooHigh):
        svc.execute(proposal.id, actor="cli")
    svc.reconcile()  # every pass tries again; the group hears it once
    assert heard.count((proposal.id, "fees-high")) == 1
    assert event_names(gov, proposal.id).count("execution-deferred") == 1
    assert not image_allowed(gov, 1)

    set_next_base_fee(gov, 1 * GWEI)
    svc.reconcile()
    done = svc.get(proposal.id)
    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert svc.fee_wait(proposal.id) is None
    assert done.execution_tx_hash is not None
    sent = gov.w3.eth.get_transaction(done.execution_tx_hash)
    assert sent["maxFeePerGas"] <= CEILING  # never offered more than the ceiling


def test_without_a_ceiling_nothing_waits(gov, market):
    svc = gov.service()
    set_next_base_fee(gov, 50 * GWEI)
    proposal = propose_image(gov, 2, svc=svc)
    assert sign(gov, proposal.id, 0, 1, svc=svc).proposal.state is ProposalState.EXECUTED


def warning_service(gov: Governance) -> GovernanceService:
    svc = gov.service()
    svc.settings = replace(svc.settings, low_balance_wei=Web3.to_wei(0.05, "ether"))
    return svc


def test_a_low_balance_is_reported_once_per_crossing(gov):
    svc = warning_service(gov)
    assert svc.executor is not None
    address = svc.executor.address

    def fund(ether: float) -> None:
        gov.w3.provider.make_request("anvil_setBalance", [address, hex(Web3.to_wei(ether, "ether"))])  # type: ignore[arg-type]

    first = svc.check_executor_balance()
    assert first is not None and not first.low and first.crossed is None
    fund(0.01)
    low = svc.check_executor_balance()
    assert low is not None and low.low and low.crossed == "low"
    assert svc.check_executor_balance().crossed is None  # type: ignore[union-attr]  # still low: said already
    assert warning_service(gov).check_executor_balance().crossed is None  # type: ignore[union-attr]  # also after a restart
    fund(1)
    assert svc.check_executor_balance().crossed == "restored"  # type: ignore[union-attr]
    assert svc.last_executor_balance() is not None and svc.last_executor_balance().balance == Web3.to_wei(1, "ether")  # type: ignore[union-attr]
    names = [e.event for e in events(gov) if e.proposal_id is None]
    assert names.count("executor-balance-low") == 1 and names.count("executor-funded") == 1
