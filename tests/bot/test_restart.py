"""A restart in the middle: the message, the links and the jobs survive, and nothing said meanwhile is lost."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.runner import JOBS_TABLE
from proposals.models import ProposalState
from tests.helpers.bot import CHAT, OWNER_1, OWNER_2, announcement, propose_image, replies_to, running_bot


def stored_jobs(db_url: str) -> set[str]:
    """Return the ids of the jobs APScheduler keeps in the database."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text(f"SELECT id FROM {JOBS_TABLE}"))}  # noqa: S608
    finally:
        engine.dispose()


async def test_restart_keeps_the_message_and_the_jobs_and_loses_no_update(gov, telegram):
    async with running_bot(gov, telegram, reminder_interval=3600) as first:
        proposal = await propose_image(first, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        typed = gov.svc.typed_data(proposal.id)
        first_signature = gov.owners[0].sign_typed_data(full_message=typed).signature.hex()
        _, asked = telegram.say(CHAT, OWNER_1, f"/sign {proposal.id} 0x{first_signature.removeprefix('0x')}")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="the first signature")
        await telegram.wait_for(lambda: "Signatures 1/2" in telegram.message(CHAT, message.message_id).text,
                                what="1/2")  # fmt: skip
        await telegram.wait_for(lambda: {"remind:1", "expire:1"} <= stored_jobs(gov.db_url), what="the jobs")
    assert telegram.pending_updates() == 0  # everything fetched was confirmed at shutdown
    assert {"watch-chain", "retry-executions", "remind:1", "expire:1"} <= stored_jobs(gov.db_url)

    # While the bot is down, owners keep talking; Telegram keeps the updates.
    _, pending = telegram.say(CHAT, OWNER_2, "/pending")
    second_signature = gov.owners[1].sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")
    assert telegram.pending_updates() == 1  # nobody polls: it waits at Telegram

    async with running_bot(gov, telegram) as second:  # a new process: new service, new scheduler
        assert second.scheduler.get_job("remind:1") is not None and second.scheduler.get_job("expire:1") is not None
        late = await telegram.wait_for(lambda: replies_to(telegram, pending), what="the update sent while down")
        assert "#1 · ⏳ Waiting for signatures · 1/2" in late[0].text
        _, asked = telegram.say(CHAT, OWNER_2, f"/sign {proposal.id} 0x{second_signature}")
        done = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the second signature")
        assert "2/2" in done[0].text
        edited = await telegram.wait_for(
            lambda: "✅ Executed" in (m := telegram.message(CHAT, message.message_id)).text and m, what="execution"
        )
        assert "Signatures 2/2" in edited.text
        await telegram.wait_for(lambda: "remind:1" not in stored_jobs(gov.db_url), what="the reminder dropped")
    assert gov.store.get(proposal.id).state is ProposalState.EXECUTED
    assert len([m for m in telegram.bot_messages(CHAT) if m.reply_to is None]) == 1  # never announced twice
    assert "expire:1" not in stored_jobs(gov.db_url)


async def test_stopping_finishes_the_work_in_flight(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="test")
        typed = gov.svc.typed_data(proposal.id)
        signature = gov.owners[1].sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")
        _, asked = telegram.say(CHAT, OWNER_2, f"/sign {proposal.id} 0x{signature}")
        await telegram.wait_for(lambda: len(gov.store.signatures(proposal.id)) == 2, what="the quorum signature")
        # Stop right now (as SIGTERM does): the execution, the reply and the edits still happen.
    assert gov.store.get(proposal.id).state is ProposalState.EXECUTED
    assert "2/2" in replies_to(telegram, asked)[0].text
    assert "✅ Executed" in telegram.message(CHAT, message.message_id).text
    assert any("executed in" in m.text for m in replies_to(telegram, message.message_id))
