"""Two Safes in two chats: each chat sees and acts on its own Safe's proposals only.

Another chat's proposal reads exactly like an id that does not exist, whatever the command or button;
a change another chat's Safe must sign is refused; reminders go to the Safe's own chat, even after it moved.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from bot.handlers.gate import REFUSAL
from proposals.models import ProposalState
from proposals.service import GovernanceService
from tests.helpers.bot import (
    ADMIN,
    CHAT,
    CHAT_B,
    OWNER_1,
    PROPOSER,
    announcement,
    answer_of,
    image,
    propose_hash,
    propose_image,
    replies_to,
    running_two_chats,
    warnings_to,
)
from tests.helpers.fake_telegram import FakeTelegram, FakeUser
from tests.helpers.safes import add_app_safe


async def ask(telegram: FakeTelegram, chat: int, user: FakeUser, text: str) -> str:
    """Say `text` in `chat` and return the bot's first reply."""
    _, asked = telegram.say(chat, user, text)
    replies = await telegram.wait_for(lambda: replies_to(telegram, asked), what=f"the reply to {text}")
    return replies[0].text


def signature_hex(service: GovernanceService, proposal_id: int, owner: LocalAccount) -> str:
    """Return `owner`'s EIP-712 signature of the proposal as 0x-hex."""
    signed = owner.sign_typed_data(full_message=service.typed_data(proposal_id))
    return "0x" + bytes(signed.signature).hex()


async def test_another_chats_proposal_reads_like_an_unknown_id(gov, telegram):
    other = add_app_safe(gov)
    async with running_two_chats(gov, telegram, other) as runtime:
        mine = await propose_image(runtime, 1)
        theirs = await propose_hash(runtime, other, 2)
        await telegram.wait_for(lambda: announcement(telegram, mine.id), what="A's announcement")
        await telegram.wait_for(lambda: announcement(telegram, theirs.id, CHAT_B), what="B's announcement")
        assert announcement(telegram, theirs.id) is None and announcement(telegram, mine.id, CHAT_B) is None
        signature = signature_hex(runtime.service, theirs.id, other.owners[0])
        for command in ("/status {}", "/typeddata {}", "/cancel {}", "/sign {} " + signature):
            unknown = await ask(telegram, CHAT, ADMIN, command.format(999))
            hidden = await ask(telegram, CHAT, ADMIN, command.format(theirs.id))
            assert unknown.startswith("⚠️ ") and hidden == unknown.replace("#999", f"#{theirs.id}"), command
        assert not [m for m in telegram.bot_messages(CHAT) if m.document]  # no typed data, no details file
        assert gov.store.get(theirs.id).state is ProposalState.PENDING and not gov.store.signatures(theirs.id)
        # In its own chat the same commands work.
        status = await ask(telegram, CHAT_B, OWNER_1, f"/status {theirs.id}")
        assert "Safe transaction" in status and other.address in status


async def test_lists_show_only_the_chats_own_safes(gov, telegram):
    other = add_app_safe(gov)
    async with running_two_chats(gov, telegram, other) as runtime:
        mine = await propose_image(runtime, 1)
        theirs = await propose_hash(runtime, other, 2)
        pending = await ask(telegram, CHAT, OWNER_1, "/pending")
        assert "Open proposals (1)" in pending and f"#{mine.id} ·" in pending and f"#{theirs.id} ·" not in pending
        pending = await ask(telegram, CHAT_B, OWNER_1, "/pending")
        assert "Open proposals (1)" in pending and f"#{theirs.id} ·" in pending and f"#{mine.id} ·" not in pending

        owners = await ask(telegram, CHAT, OWNER_1, "/owners")
        assert gov.safe in owners and other.address not in owners
        assert all(o.address in owners for o in gov.owners) and not any(o.address in owners for o in other.owners)
        owners = await ask(telegram, CHAT_B, OWNER_1, "/owners")
        assert other.address in owners and gov.safe not in owners
        assert all(o.address in owners for o in other.owners) and not any(o.address in owners for o in gov.owners)

        # The KMS whitelists bind every app on it; each chat sees only the apps its Safes own.
        policy = await ask(telegram, CHAT, OWNER_1, "/policy")
        assert gov.kms_address in policy and gov.app_address in policy and other.app not in policy
        assert "Apps (1)" in policy and "1 more registered app(s) belong to Safes outside this chat" in policy
        policy = await ask(telegram, CHAT_B, OWNER_1, "/policy")
        assert gov.kms_address in policy and other.app in policy and gov.app_address not in policy
        assert "Apps (1)" in policy


async def test_a_button_carrying_another_chats_proposal_is_stale(gov, telegram):
    other = add_app_safe(gov)
    async with running_two_chats(gov, telegram, other) as runtime:
        mine = await propose_image(runtime, 1)
        message = await telegram.wait_for(lambda: announcement(telegram, mine.id), what="A's announcement")
        theirs = await propose_hash(runtime, other, 2)
        theirs_message = await telegram.wait_for(lambda: announcement(telegram, theirs.id, CHAT_B), what="B's")
        forwarded = telegram.forward(theirs_message, CHAT)
        query = telegram.tap(CHAT, ADMIN, forwarded.message_id, forwarded.button_data("Cancel"))
        answer = await telegram.wait_for(lambda: answer_of(telegram, query), what="the forwarded press")
        assert "out of date" in answer["text"]

        # A proposal of B whose message is not recorded yet (its announcement failed; retried later).
        telegram.fail("sendMessage", 400, description="Bad Request: chat not found")
        late = await propose_hash(runtime, other, 3)
        await telegram.wait_for(lambda: [c for c in telegram.calls("sendMessage") if c.status == 400], what="fail")
        assert await runtime.core.run(runtime.bot_store.announcement, late.id) is None
        sent_before = len(telegram.bot_messages(CHAT))
        for verb in ("t", "d", "c", "C"):
            query = telegram.tap(CHAT, ADMIN, message.message_id, f"g1:{verb}:{late.id}")
            answer = await telegram.wait_for(lambda q=query: answer_of(telegram, q), what=f"the {verb} press")
            assert "out of date" in answer["text"], verb
        assert len(telegram.bot_messages(CHAT)) == sent_before
        assert {gov.store.get(p.id).state for p in (theirs, late)} == {ProposalState.PENDING}
        assert telegram.unanswered_callbacks() == []


async def test_a_chat_cannot_propose_for_another_chats_safe(gov, telegram):
    other = add_app_safe(gov)
    refusal = f"Not allowed: this change is for Safe {other.address}, which is not among the Safes served here"
    proposal_file = (
        f"title: B's release\nactions:\n  - action: app add-hash\n    app: {other.app}\n    composeHash: {image(2)}\n"
    )
    async with running_two_chats(gov, telegram, other):
        _, asked = telegram.say(CHAT, PROPOSER, f"/propose app-add-hash {other.app} {image(1)}")
        _, sent = telegram.send_document(CHAT, PROPOSER, "release.yaml", proposal_file.encode())
        for message_id in (asked, sent):
            refused = await telegram.wait_for(lambda m=message_id: warnings_to(telegram, m), what="the refusal")
            assert refusal in refused[0] and "\n" not in refused[0]
        _, asked = telegram.say(CHAT_B, ADMIN, f"/propose kms-add-image {image(3)}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="the refusal in B")
        assert f"this change is for Safe {gov.safe}" in refused[0]
        assert gov.store.list_proposals() == []

        _, asked = telegram.say(CHAT_B, PROPOSER, f"/propose app-add-hash {other.app} {image(1)}")
        filed = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the filing in B")
        assert "Filed as proposal #1 (nonce 0); announced below." in filed[0].text
        await telegram.wait_for(lambda: announcement(telegram, 1, CHAT_B), what="the announcement in B")
        assert announcement(telegram, 1) is None


async def test_reminders_go_to_the_safes_chat_even_after_it_moved(gov, telegram):
    other = add_app_safe(gov)
    shared = {gov.safe: CHAT, other.address: CHAT}
    async with running_two_chats(gov, telegram, other, chats=shared, reminder_interval=0.3) as runtime:
        theirs = await propose_hash(runtime, other, 1)
        old = await telegram.wait_for(lambda: announcement(telegram, theirs.id), what="B's message in the shared chat")
    said_in_a = len(telegram.bot_messages(CHAT))

    def reminders(chat: int, proposal_id: int) -> list[int | None]:
        prefix = f"⏰ Proposal #{proposal_id} ("
        return [m.reply_to for m in telegram.bot_messages(chat) if m.text.startswith(prefix)]

    # The second Safe's signers now meet in their own chat.
    async with running_two_chats(gov, telegram, other, reminder_interval=0.3) as runtime:
        mine = await propose_image(runtime, 2)
        message = await telegram.wait_for(lambda: announcement(telegram, mine.id), what="A's announcement")
        moved = await telegram.wait_for(lambda: announcement(telegram, theirs.id, CHAT_B), what="B re-announced")
        await telegram.wait_for(lambda: moved.message_id in reminders(CHAT_B, theirs.id), what="B's reminder in B")
        await telegram.wait_for(lambda: message.message_id in reminders(CHAT, mine.id), what="A's reminder in A")
    later_in_a = telegram.bot_messages(CHAT)[said_in_a:]
    assert later_in_a and all(f"#{mine.id}" in m.text for m in later_in_a)  # nothing more about B's proposal
    assert telegram.message(CHAT, old.message_id).text == old.text
    assert not reminders(CHAT_B, mine.id)


async def test_a_private_chat_is_served_only_when_a_safe_names_it(gov, telegram):
    other = add_app_safe(gov)
    chats = {gov.safe: CHAT, other.address: PROPOSER.id}  # the second Safe's "chat" is one user's private chat
    async with running_two_chats(gov, telegram, other, chats=chats) as runtime:
        mine = await propose_image(runtime, 1)
        theirs = await propose_hash(runtime, other, 2)
        pending = await ask(telegram, PROPOSER.id, PROPOSER, "/pending")
        assert "Open proposals (1)" in pending and f"#{theirs.id} ·" in pending
        assert await ask(telegram, PROPOSER.id, PROPOSER, f"/status {mine.id}") == f"⚠️ no proposal #{mine.id}"
        assert await ask(telegram, ADMIN.id, ADMIN, "/pending") == REFUSAL
