"""Who may do what: other chats and unauthorised users get a polite refusal and nothing is done."""

from __future__ import annotations

from bot.handlers.gate import REFUSAL
from proposals.models import ProposalState
from tests.helpers.bot import (
    ADMIN,
    CHAT,
    OTHER_CHAT,
    OWNER_1,
    PROPOSER,
    STRANGER,
    announcement,
    image,
    propose_image,
    replies_to,
    running_bot,
    warnings_to,
)


async def test_other_chats_are_refused_and_nothing_is_done(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        calls_before = len(telegram.calls("sendMessage"))
        _, asked = telegram.say(OTHER_CHAT, PROPOSER, f"/propose kms-add-image {image(2)}")
        _, cancel = telegram.say(OTHER_CHAT, ADMIN, f"/cancel {proposal.id}")
        _, private = telegram.say(PROPOSER.id, PROPOSER, "/pending")
        telegram.say(OTHER_CHAT, STRANGER, "just chatting")
        for mid, chat in ((asked, OTHER_CHAT), (cancel, OTHER_CHAT), (private, PROPOSER.id)):
            refusal = await telegram.wait_for(lambda m=mid: replies_to(telegram, m), what="a refusal")
            assert refusal[0].text == REFUSAL and refusal[0].chat_id == chat
        # A button pressed elsewhere (a forwarded message) is answered too, and does nothing.
        forwarded = telegram.forward(message, OTHER_CHAT)
        query = telegram.tap(OTHER_CHAT, ADMIN, forwarded.message_id, forwarded.button_data("Cancel"))
        await telegram.wait_for(lambda: query not in telegram.unanswered_callbacks(), what="the answer")
        assert len(telegram.calls("sendMessage")) == calls_before + 3  # the three refusals, nothing more
        assert [p.id for p in gov.store.list_proposals()] == [proposal.id]
        assert gov.store.get(proposal.id).state is ProposalState.PENDING


async def test_only_proposers_and_admins_propose(gov, telegram):
    async with running_bot(gov, telegram):
        _, asked = telegram.say(CHAT, STRANGER, f"/propose kms-add-image {image(1)}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="the refusal")
        assert "Not allowed: only proposers and admins may propose" in refused[0] and "3001" in refused[0]
        _, asked = telegram.say(CHAT, ADMIN, f"/propose kms-add-image {image(1)}")
        filed = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the admin's proposal")
        assert "Filed as proposal #1" in filed[0].text
        assert [p.proposer for p in gov.store.list_proposals()] == ["telegram:1002:Adam"]


async def test_cancel_is_for_the_proposer_and_admins(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        mine = await propose_image(runtime, 1)
        other = await propose_image(runtime, 2)
        for user in (STRANGER, OWNER_1):
            _, asked = telegram.say(CHAT, user, f"/cancel {mine.id}")
            refused = await telegram.wait_for(lambda a=asked: warnings_to(telegram, a), what="the refusal")
            assert f"only the proposer of #{mine.id} or an admin may cancel it" in refused[0]
        assert gov.store.get(mine.id).state is ProposalState.PENDING
        _, asked = telegram.say(CHAT, PROPOSER, f"/cancel {mine.id}")
        done = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the cancel")
        assert f"Proposal #{mine.id} is withdrawn." in done[0].text
        _, asked = telegram.say(CHAT, ADMIN, f"/cancel {other.id}")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="the admin's cancel")
        assert {p.state for p in gov.store.list_proposals()} == {ProposalState.CANCELLED}
        message = await telegram.wait_for(
            lambda: (m := announcement(telegram, mine.id)) and "🚫 Cancelled" in m.text and m, what="the edit"
        )
        assert [b["text"] for b in message.buttons] == ["🔎 Details"]
