"""A proposal whose stored actions do not match its calldata is never shown: one notice, one log line."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from bot import jobs
from bot.announcer import Announcer
from bot.runner import BotRuntime
from proposals.models import Proposal
from proposals.store.tables import ProposalRow
from tests.helpers.bot import CHAT, OWNER_1, announcement, image, propose_image, replies_to, run_job, running_bot
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance
from tests.helpers.proposing import propose_image as file_image

NOTICE = "cannot be shown because its stored actions do not match its calldata"


def tamper_actions(gov: Governance, proposal: Proposal) -> None:
    """Store other actions than the calldata encodes, as someone with database access could."""
    actions: list[dict[str, Any]] = [
        {"action": "kms-add-image", "target": proposal.actions[0].target, "values": {"osImageHash": image(9)}}
    ]
    with gov.store.engine.begin() as connection:
        connection.execute(update(ProposalRow).where(ProposalRow.id == proposal.id).values(actions=actions))


def notices(telegram: FakeTelegram) -> list[str]:
    """Return the bot's notices about withheld proposals in CHAT."""
    return [m.text for m in telegram.bot_messages(CHAT) if NOTICE in m.text]


def announcer_of(runtime: BotRuntime) -> Announcer:
    """Return the running bot's announcer."""
    assert runtime.host is not None, "the bot is not running"
    return runtime.host.announcer


async def settle(telegram: FakeTelegram, runtime: BotRuntime) -> None:
    """Let the announcer finish the passes requested so far."""
    await telegram.wait_for(lambda: not announcer_of(runtime).busy, what="the announcer to settle")


async def test_a_tampered_proposal_gets_one_notice_and_is_never_shown(gov, telegram, caplog):
    proposal = file_image(gov, 1)  # filed while the bot is away
    tamper_actions(gov, proposal)
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(gov, telegram) as runtime:
        await telegram.wait_for(lambda: notices(telegram), what="the notice")
        for _ in range(2):  # later passes of the watcher meet it again
            await run_job(telegram, runtime, "watch-chain", jobs.watch_chain)
            await settle(telegram, runtime)
        _, asked = telegram.say(CHAT, OWNER_1, f"/status {proposal.id}")
        refusal = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the /status reply")
    assert notices(telegram) == [f"⚠️ Proposal #{proposal.id} {NOTICE}. Do not sign it."]
    assert announcement(telegram, proposal.id) is None
    assert "do not match" in refusal[0].text and image(9) not in refusal[0].text
    shown = " ".join(m.text for m in telegram.bot_messages(CHAT))
    assert image(1) not in shown and image(9) not in shown
    about = [r for r in caplog.records if r.name.startswith("bot") and f"proposal {proposal.id}" in r.getMessage()]
    assert [r.getMessage() for r in about] == [
        f"proposal {proposal.id}: stored actions do not match its calldata; not shown"
    ]
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("bot"))


async def test_an_announced_proposal_tampered_later_loses_its_message(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        assert image(1) in message.text
        tamper_actions(gov, proposal)
        announcer_of(runtime).request(proposal.id)  # what any change of the proposal does
        await telegram.wait_for(lambda: NOTICE in telegram.message(CHAT, message.message_id).text, what="the edit")
        announcer_of(runtime).request(proposal.id)
        await settle(telegram, runtime)
        edited = telegram.message(CHAT, message.message_id)
    assert image(1) not in edited.text and image(9) not in edited.text and not edited.reply_markup
    assert notices(telegram) == [edited.text]  # edited in place, nothing new posted
