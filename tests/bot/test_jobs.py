"""Scheduled jobs: reminders, expiry, execution retries, and the watcher seeing what happens elsewhere."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from eth_account import Account
from web3 import Web3

from contracts import TransactionSender
from proposals.execution import Executor
from proposals.models import ProposalState
from proposals.safe_tx import to_safe_tx
from proposals.service import GovernanceService
from proposals.store import open_store
from tests.helpers.bot import CHAT, OWNER_2, announcement, propose_image, replies_to, running_bot
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance


def service_with(gov: Governance, *, executor: Executor | None, ttl: timedelta | None = None) -> GovernanceService:
    """Return a service on gov's Safe with its own executor and TTL, on the real clock."""
    settings = gov.settings() if ttl is None else replace(gov.settings(), proposal_ttl=ttl)
    return GovernanceService(client=gov.client, store=open_store(gov.db_url), safes=[gov.safe], kms=gov.kms_address,
                             settings=settings, executor=executor)  # fmt: skip


async def test_reminders_mention_only_missing_owners_and_stop_at_quorum(gov, telegram):
    async with running_bot(gov, telegram, reminder_interval=0.3) as runtime:
        await runtime.core.run(runtime.bot_store.save_link, gov.owners[1].address, OWNER_2.id, "Omar")
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="test")

        def reminders() -> list[str]:
            return [m.text for m in replies_to(telegram, message.message_id) if m.text.startswith("⏰")]

        await telegram.wait_for(lambda: len(reminders()) >= 2, what="two reminders")
        latest = reminders()[-1]
        assert "1/2 signatures" in latest and f'href="tg://user?id={OWNER_2.id}">Omar</a>' in latest
        assert gov.owners[2].address in latest and gov.owners[0].address not in latest
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[1], source="test")
        await telegram.wait_for(lambda: "✅ Executed" in telegram.message(CHAT, message.message_id).text,
                                what="execution")  # fmt: skip
        await asyncio.sleep(0.1)
        count = len(reminders())
        await asyncio.sleep(0.8)
        assert len(reminders()) == count and runtime.scheduler.get_job(f"remind:{proposal.id}") is None
        assert any(e.event == "reminded" for e in gov.store.audit(proposal_id=proposal.id))


async def test_the_expiry_job_ends_a_proposal_on_time(gov, telegram):
    service = service_with(gov, executor=None, ttl=timedelta(seconds=1))
    async with running_bot(gov, telegram, service=service) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        await telegram.wait_for(lambda: "⌛ Expired" in telegram.message(CHAT, message.message_id).text,
                                within=10, what="expiry")  # fmt: skip
        assert gov.store.get(proposal.id).state is ProposalState.EXPIRED
        assert runtime.scheduler.get_job(f"expire:{proposal.id}") is None


async def test_a_failed_execution_is_reported_then_retried(gov, telegram):
    broke = Account.create()
    executor = Executor(TransactionSender(gov.w3, broke), gov.client)
    async with running_bot(gov, telegram, service=service_with(gov, executor=executor), retry_interval=0.3) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        for owner in gov.owners[:2]:
            await runtime.core.write(runtime.service.sign_with_account, proposal.id, owner, source="test")
        failure = await telegram.wait_for(
            lambda: [m for m in replies_to(telegram, message.message_id) if "execution failed" in m.text],
            what="the failure report",
        )
        assert "insufficient funds" in failure[0].text.lower()
        assert gov.store.get(proposal.id).state in (ProposalState.FAILED, ProposalState.EXECUTING)
        TransactionSender(gov.w3, dev_account(0)).send(broke.address, b"", value=Web3.to_wei(1, "ether"))
        await telegram.wait_for(lambda: "✅ Executed" in telegram.message(CHAT, message.message_id).text,
                                within=10, what="the retried execution")  # fmt: skip
        assert gov.store.get(proposal.id).state is ProposalState.EXECUTED


async def test_the_watcher_sees_an_execution_elsewhere(gov, telegram):
    async with running_bot(gov, telegram, poll_interval=0.3) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        safe_tx = to_safe_tx(proposal.safe_tx, gov.client)
        for owner in gov.owners[:2]:
            safe_tx.sign("0x" + owner.key.hex())
        tx_hash, _ = safe_tx.execute(tx_sender_private_key="0x" + dev_account(8).key.hex())
        gov.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        edited = await telegram.wait_for(
            lambda: "✅ Executed" in (m := telegram.message(CHAT, message.message_id)).text and m, what="the watcher"
        )
        assert bytes(tx_hash).hex() in edited.text
