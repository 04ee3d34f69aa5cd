"""Telegram realities in a running bot: 429 and 500 answers, a 5,000-character description, files."""

from __future__ import annotations

import pytest

from bot.markup import MAX_MESSAGE, visible_length
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    OWNER_2,
    PROPOSER,
    announcement,
    image,
    propose_image,
    replies_to,
    running_bot,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_429_and_500_are_waited_out_and_retried(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        telegram.fail("sendMessage", 429, retry_after=1)
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="the announcement")
        assert [c.status for c in telegram.calls("sendMessage")] == [429, 200]

        telegram.fail("editMessageText", 500, times=2)
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="test")
        await telegram.wait_for(lambda: "Signatures 1/2" in telegram.message(CHAT, message.message_id).text,
                                what="the edit after two 500s")  # fmt: skip
        assert [c.status for c in telegram.calls("editMessageText")] == [500, 500, 200]

        telegram.fail("getUpdates", 500)
        telegram.fail("answerCallbackQuery", 429, retry_after=1)
        _, asked = telegram.say(CHAT, OWNER_2, "/pending")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="a reply after getUpdates failed")
        query = telegram.tap(CHAT, OWNER_2, message.message_id, message.button_data("Details"))
        await telegram.wait_for(lambda: query not in telegram.unanswered_callbacks(), what="the answer after a 429")
        # Exactly one announcement, whatever happened on the way.
        messages = telegram.bot_messages(CHAT)
        assert len([m for m in messages if m.reply_to is None and m.text.startswith("<b>Proposal #1")]) == 1


async def test_a_proposal_file_with_a_5000_character_description(gov, telegram):
    description = ("A long rationale, with <angle brackets> & ampersands. " * 100)[:5000]
    assert len(description) == 5000
    proposal_file = (
        "title: Roll out release 1.2\n"
        f"description: '{description}'\n"
        "actions:\n"
        f"  - action: kms add-image\n    osImageHash: {image(1)}\n"
        f"  - action: app add-hash\n    app: {gov.app_address}\n    composeHash: {image(2)}\n"
        f"  - action: app add-device\n    app: {gov.app_address}\n    deviceId: {image(3)}\n"
    )
    async with running_bot(gov, telegram):
        _, sent = telegram.send_document(CHAT, PROPOSER, "release-1.2.yaml", proposal_file.encode())
        filed = await telegram.wait_for(lambda: replies_to(telegram, sent), what="the filing")
        assert "Filed as proposal #1" in filed[0].text
        message = await telegram.wait_for(lambda: announcement(telegram, 1), what="the announcement")
        assert visible_length(message.text) <= MAX_MESSAGE and len(message.text) <= MAX_MESSAGE
        assert "&lt;angle brackets&gt; &amp; ampersands" in message.text and "…" in message.text
        assert message.text.count("\n1. ") == 1 and "\n3. Allow device" in message.text
        assert "Risk warnings" not in message.text  # a MultiSendCallOnly batch is not a stray delegatecall
        proposal = gov.store.get(1)
        assert proposal.description == description and len(proposal.actions) == 3

        _, asked = telegram.say(CHAT, OWNER_1, "/status 1")
        (reply,) = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the status file")
        assert reply.document is not None and reply.document[0] == "proposal-1.txt"
        assert description in reply.document[1].decode()  # the file has the text, unescaped and whole


async def test_documents_that_are_not_proposals_are_ignored_and_bad_files_explained(gov, telegram):
    async with running_bot(gov, telegram):
        _, photo = telegram.send_document(CHAT, PROPOSER, "holiday.jpg", b"\xff\xd8")
        _, bad = telegram.send_document(CHAT, PROPOSER, "broken.yaml", b"title: [unclosed")
        (reply,) = await telegram.wait_for(lambda: replies_to(telegram, bad), what="the reason")
        assert reply.text.startswith("⚠️ broken.yaml: not valid YAML (")
        _, stranger = telegram.send_document(CHAT, OWNER_1, "p.json", b'{"title": "x", "actions": []}')
        (reply,) = await telegram.wait_for(lambda: replies_to(telegram, stranger), what="the refusal")
        assert "Not allowed" in reply.text
        assert replies_to(telegram, photo) == [] and gov.store.list_proposals() == []
