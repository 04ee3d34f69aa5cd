"""Scheduled jobs: reminders, expiry, execution retries, and the watcher seeing what happens elsewhere."""

from __future__ import annotations

from datetime import timedelta

from eth_account import Account
from web3 import Web3

from bot import jobs
from contracts import TransactionSender
from proposals.execution import Executor
from proposals.models import ProposalState
from proposals.safe_tx import to_safe_tx
from proposals.service import GovernanceService
from proposals.store import open_store
from tests.helpers.bot import CHAT, OWNER_2, announcement, propose_image, replies_to, run_job, running_bot
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance


def service_with(gov: Governance, *, executor: Executor | None) -> GovernanceService:
    """Return a service on gov's Safe with its own executor, on gov's settable clock."""
    return GovernanceService(client=gov.client, store=open_store(gov.db_url), safes=[gov.safe], kms=gov.kms_address,
                             settings=gov.settings(), executor=executor, clock=gov.clock)  # fmt: skip


def reminders(telegram: FakeTelegram, message_id: int) -> list[str]:
    """Return the reminders posted as replies to an announcement."""
    return [m.text for m in replies_to(telegram, message_id) if m.text.startswith("⏰")]


async def test_reminders_mention_only_missing_owners_and_stop_at_quorum(gov, telegram):
    # The reminder interval is an hour: the scheduler never fires it here; the test runs the job instead.
    async with running_bot(gov, telegram) as runtime:
        await runtime.core.run(runtime.bot_store.save_link, gov.owners[1].address, OWNER_2.id, "Omar")
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="test")
        job_id = f"remind:{proposal.id}"
        job = await telegram.wait_for(lambda: runtime.scheduler.get_job(job_id), what="the reminder job")
        assert job.trigger.interval == timedelta(hours=1)
        await telegram.wait_for(lambda: "Signatures 1/2" in telegram.message(CHAT, message.message_id).text,
                                what="1/2")  # fmt: skip
        for _ in range(2):
            await run_job(telegram, runtime, job_id, lambda: jobs.remind(proposal.id))
        assert len(reminders(telegram, message.message_id)) == 2
        latest = reminders(telegram, message.message_id)[-1]
        assert "1/2 signatures" in latest and f'href="tg://user?id={OWNER_2.id}">Omar</a>' in latest
        assert gov.owners[2].address in latest and gov.owners[0].address not in latest
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[1], source="test")
        await telegram.wait_for(lambda: "✅ Executed" in telegram.message(CHAT, message.message_id).text,
                                what="execution")  # fmt: skip
        await telegram.wait_for(lambda: runtime.scheduler.get_job(job_id) is None, what="the reminder dropped")
        await run_job(telegram, runtime, job_id, lambda: jobs.remind(proposal.id))  # a late turn says nothing
        assert len(reminders(telegram, message.message_id)) == 2
        assert [e.event for e in gov.store.audit(proposal_id=proposal.id)].count("reminded") == 2


async def test_expiry_and_reminders_follow_the_service_clock(gov, telegram):
    async with running_bot(gov, telegram) as runtime:  # gov.service() runs on gov.clock, a settable clock
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        assert proposal.expires_at == gov.clock.now + timedelta(days=7)
        expire_id = f"expire:{proposal.id}"
        job = await telegram.wait_for(lambda: runtime.scheduler.get_job(expire_id), what="the expiry job")
        assert job.next_run_time == proposal.expires_at
        # Run early (by the clock, time is left): nothing ends.
        await run_job(telegram, runtime, "expire", jobs.expire_due)
        assert gov.store.get(proposal.id).state is ProposalState.PENDING
        gov.clock.now = proposal.expires_at
        # Due for expiry by the clock: no reminder any more, and the expiry ends it.
        await run_job(telegram, runtime, f"remind:{proposal.id}", lambda: jobs.remind(proposal.id))
        assert reminders(telegram, message.message_id) == []
        await run_job(telegram, runtime, "expire", jobs.expire_due)
        assert gov.store.get(proposal.id).state is ProposalState.EXPIRED
        await telegram.wait_for(lambda: "⌛ Expired" in telegram.message(CHAT, message.message_id).text,
                                what="expiry")  # fmt: skip
        await telegram.wait_for(lambda: runtime.scheduler.get_job(expire_id) is None, what="the expiry job dropped")
        assert runtime.scheduler.get_job(f"remind:{proposal.id}") is None


async def test_a_failed_execution_is_reported_then_retried(gov, telegram):
    broke = Account.create()
    executor = Executor(TransactionSender(gov.w3, broke), gov.client)
    async with running_bot(gov, telegram, service=service_with(gov, executor=executor)) as runtime:
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
        await run_job(telegram, runtime, "retry-executions", jobs.retry_executions)
        assert gov.store.get(proposal.id).state is ProposalState.EXECUTED
        await telegram.wait_for(lambda: "✅ Executed" in telegram.message(CHAT, message.message_id).text,
                                what="the retried execution")  # fmt: skip


async def test_the_watcher_sees_an_execution_elsewhere(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        safe_tx = to_safe_tx(proposal.safe_tx, gov.client)
        for owner in gov.owners[:2]:
            safe_tx.sign("0x" + owner.key.hex())
        tx_hash, _ = safe_tx.execute(tx_sender_private_key="0x" + dev_account(8).key.hex())
        gov.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        await run_job(telegram, runtime, "watch-chain", jobs.watch_chain)
        assert gov.store.get(proposal.id).state is ProposalState.EXECUTED
        edited = await telegram.wait_for(
            lambda: "✅ Executed" in (m := telegram.message(CHAT, message.message_id)).text and m, what="the watcher"
        )
        assert bytes(tx_hash).hex() in edited.text
