"""The group hears about the executor's money: a fee wait on the announcement, a low balance once per crossing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from web3 import Web3

from bot import jobs
from bot.executor_alerts import watch_executor
from proposals.executor_funds import GWEI
from proposals.models import ProposalState
from tests.helpers.bot import CHAT, announcement, propose_image, run_job, running_bot
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance


def set_next_base_fee(gov: Governance, wei: int) -> None:
    gov.w3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(wei)])  # type: ignore[arg-type]


@pytest.fixture
def market(gov: Governance) -> Iterator[None]:
    """Leave anvil's next base fee as it found it (the session chain outlives this test's snapshot)."""
    before = int(gov.w3.eth.fee_history(1, "latest", [])["baseFeePerGas"][-1])
    try:
        yield
    finally:
        set_next_base_fee(gov, before)


def alerts(telegram: FakeTelegram, words: str) -> list[str]:
    return [m.text for m in telegram.bot_messages(CHAT) if words in m.text]


async def test_an_approved_proposal_waiting_for_fees_says_why_then_executes(gov, telegram, market):
    svc = gov.service()
    assert svc.executor is not None
    svc.executor.sender.max_fee_per_gas = 5 * GWEI
    async with running_bot(gov, telegram, svc) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        set_next_base_fee(gov, 40 * GWEI)
        for owner in gov.owners[:2]:
            await runtime.core.write(svc.sign_with_account, proposal.id, owner, source="test")
        assert gov.store.get(proposal.id).state is ProposalState.APPROVED
        waiting = await telegram.wait_for(
            lambda: "⏸ Execution waits" in (text := telegram.message(CHAT, message.message_id).text) and text,
            what="the fee wait on the announcement",
        )
        assert "40 gwei, above the executor's ceiling of 5 gwei" in waiting
        set_next_base_fee(gov, 1 * GWEI)
        await run_job(telegram, runtime, "watch-chain", jobs.watch_chain)
        final = await telegram.wait_for(
            lambda: "✅ Executed" in (text := telegram.message(CHAT, message.message_id).text) and text,
            what="the execution",
        )
        assert "Execution waits" not in final


async def test_a_low_executor_balance_is_posted_once_per_crossing(gov, telegram):
    svc = gov.service()
    svc.settings = replace(svc.settings, low_balance_wei=Web3.to_wei(0.05, "ether"))
    assert svc.executor is not None

    def fund(ether: float) -> None:
        gov.w3.provider.make_request("anvil_setBalance", [svc.executor.address, hex(Web3.to_wei(ether, "ether"))])  # type: ignore[arg-type, union-attr]

    async with running_bot(gov, telegram, svc) as runtime:
        await run_job(telegram, runtime, "watch-executor", watch_executor)
        assert alerts(telegram, "Executor") == []  # funded: nothing to say
        fund(0.01)
        for _ in range(2):
            await run_job(telegram, runtime, "watch-executor", watch_executor)
        low = alerts(telegram, "Executor balance low")
        assert len(low) == 1 and "holds 0.01 ETH, below 0.05 ETH" in low[0] and svc.executor.address in low[0]
        fund(2)
        for _ in range(2):
            await run_job(telegram, runtime, "watch-executor", watch_executor)
        assert len(alerts(telegram, "Executor funded")) == 1
        assert len(alerts(telegram, "Executor balance low")) == 1
