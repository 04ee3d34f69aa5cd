"""The announcement's buttons: typed data, details, cancel with confirmation, stale buttons; all answered."""

from __future__ import annotations

from proposals.models import ProposalKind, ProposalState
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    STRANGER,
    announcement,
    answer_of,
    document_json,
    propose_image,
    replies_to,
    running_bot,
)
from tests.helpers.fake_telegram import FakeTelegram


async def tap(telegram: FakeTelegram, user, message_id: int, label_or_data: str, *, raw: bool = False):
    """Press a button and wait for the bot's answer."""
    message = telegram.message(CHAT, message_id)
    data = label_or_data if raw else message.button_data(label_or_data)
    query = telegram.tap(CHAT, user, message_id, data)
    return await telegram.wait_for(lambda: answer_of(telegram, query), what=f"the answer to {label_or_data}")


async def test_typed_data_and_details_buttons(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1, description="Why: <because>")
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        answer = await tap(telegram, OWNER_1, message.message_id, "Typed data")
        assert answer["text"] == "Typed data sent."
        (document,) = [m for m in replies_to(telegram, message.message_id) if m.document]
        assert document_json(document) == gov.svc.typed_data(proposal.id)
        await tap(telegram, OWNER_1, message.message_id, "Details")
        details = await telegram.wait_for(
            lambda: [m for m in replies_to(telegram, message.message_id) if "Safe transaction" in m.text],
            what="details",
        )
        assert "Why: &lt;because&gt;" in details[0].text and "data <code>0x" in details[0].text
        assert telegram.unanswered_callbacks() == []


async def test_cancel_asks_for_confirmation_and_respects_roles(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        normal = telegram.message(CHAT, message.message_id).reply_markup
        refused = await tap(telegram, STRANGER, message.message_id, "Cancel")
        assert "only the proposer of #1 or an admin" in refused["text"] and refused["show_alert"] == "true"
        assert telegram.message(CHAT, message.message_id).reply_markup == normal

        await tap(telegram, PROPOSER, message.message_id, "Cancel")
        assert [b["text"] for b in telegram.message(CHAT, message.message_id).buttons] == ["Yes, cancel #1",
                                                                                           "No, keep it"]  # fmt: skip
        await tap(telegram, PROPOSER, message.message_id, "No, keep it")
        await telegram.wait_for(lambda: telegram.message(CHAT, message.message_id).reply_markup == normal,
                                what="the buttons back")  # fmt: skip
        assert gov.store.get(proposal.id).state is ProposalState.PENDING

        await tap(telegram, PROPOSER, message.message_id, "Cancel")
        done = await tap(telegram, PROPOSER, message.message_id, "Yes, cancel")
        assert done["text"] == "Proposal #1 is withdrawn."
        await telegram.wait_for(lambda: "🚫 Cancelled" in telegram.message(CHAT, message.message_id).text,
                                what="the cancelled edit")  # fmt: skip
        assert gov.store.get(proposal.id).state is ProposalState.CANCELLED
        assert telegram.unanswered_callbacks() == []


async def test_cancel_after_a_signature_proposes_the_rejection(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="test")
        await tap(telegram, PROPOSER, message.message_id, "Cancel")
        done = await tap(telegram, PROPOSER, message.message_id, "Yes, cancel")
        assert "rejection #2" in done["text"]
        rejection = gov.store.get(2)
        assert rejection.kind is ProposalKind.REJECTION and rejection.rejects == proposal.id
        announced = await telegram.wait_for(
            lambda: [m for m in telegram.bot_messages(CHAT) if m.text.startswith("<b>Rejection #2</b>")],
            what="the rejection's announcement",
        )
        assert "Cancels proposal #1 if executed." in announced[0].text
        # The original keeps its normal buttons (it is still pending until the rejection executes).
        await telegram.wait_for(lambda: "Typed data" in str(telegram.message(CHAT, message.message_id).buttons),
                                what="the buttons back")  # fmt: skip


async def test_stale_buttons_are_answered_and_do_nothing(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        for data in ("cancel:1", "g0:c:1", "g1:c:999"):
            answer = await tap(telegram, PROPOSER, message.message_id, data, raw=True)
            assert "out of date" in answer["text"]
        # A button on a copy that is not the proposal's current message.
        copy = telegram.forward(message, CHAT)
        query = telegram.tap(CHAT, PROPOSER, copy.message_id, copy.button_data("Cancel"))
        answer = await telegram.wait_for(lambda: answer_of(telegram, query), what="the answer")
        assert "out of date" in answer["text"]
        assert gov.store.get(proposal.id).state is ProposalState.PENDING
        assert telegram.unanswered_callbacks() == []
