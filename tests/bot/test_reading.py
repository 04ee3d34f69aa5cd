"""Read commands (/pending, /status, /policy, /owners, /help) and /link with a signed challenge."""

from __future__ import annotations

import html
import re

from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    OWNER_2,
    announcement,
    cast_sign_message,
    propose_image,
    replies_to,
    running_bot,
    warnings_to,
)
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram, FakeUser


async def ask(telegram: FakeTelegram, user: FakeUser, text: str) -> str:
    """Say `text` in the chat and return the bot's (first) reply."""
    _, asked = telegram.say(CHAT, user, text)
    replies = await telegram.wait_for(lambda: replies_to(telegram, asked), what=f"the reply to {text}")
    return replies[0].text


async def test_pending_status_policy_owners_help(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        first = await propose_image(runtime, 1)
        await propose_image(runtime, 2)
        await runtime.core.write(runtime.service.sign_with_account, first.id, gov.owners[0], source="test")
        pending = await ask(telegram, OWNER_2, "/pending")
        assert "Open proposals (2)" in pending
        assert re.search(r"#2 · ⏳ Waiting for signatures · 0/2 · nonce 1 · Allow image 2", pending)
        assert "#1 · ⏳ Waiting for signatures · 1/2 · nonce 0" in pending
        status = await ask(telegram, OWNER_2, "/status 1")
        assert "Signatures 1/2" in status and "Safe transaction" in status and gov.owners[0].address in status
        policy = await ask(telegram, OWNER_2, "/policy")
        assert gov.kms_address in policy and gov.app_address in policy and "Apps (1)" in policy
        owners = await ask(telegram, OWNER_2, "/owners")
        assert "threshold 2 of 3 · nonce 0" in owners and owners.count("not linked") == 3
        actions = await ask(telegram, OWNER_2, "/help actions")
        assert "<code>app-add-hash</code>" in actions and "<code>safe-add-owner</code>" in actions
        one = await ask(telegram, OWNER_2, "/help app add-hash")
        assert "/propose app-add-hash &lt;app&gt; &lt;composeHash&gt;" in one


async def test_link_an_owner_with_a_signed_challenge(gov, telegram):
    owner = gov.owners[0]
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        _, asked = telegram.say(CHAT, OWNER_1, f"/link {owner.address} 0x" + "11" * 65)
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="no challenge yet")
        assert "no challenge waiting" in refused[0]
        _, asked = telegram.say(CHAT, OWNER_1, f"/link {dev_account(7).address}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="not an owner")
        assert "is not an owner of any Safe this bot serves" in refused[0]

        reply = await ask(telegram, OWNER_1, f"/link {owner.address}")
        challenge = html.unescape(re.search(r"<pre>(.*?)</pre>", reply, re.DOTALL).group(1))  # type: ignore[union-attr]
        assert f"Telegram user {OWNER_1.id} in chat {CHAT}" in challenge and owner.address in challenge
        wrong = cast_sign_message(gov.owners[1], challenge).hex()
        _, asked = telegram.say(CHAT, OWNER_1, f"/link {owner.address} 0x{wrong}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="wrong signer")
        assert f"the signature is by {gov.owners[1].address}, not by {owner.address}" in refused[0]

        signature = cast_sign_message(owner, challenge).hex()
        linked = await ask(telegram, OWNER_1, f"/link {owner.address} 0x{signature}")
        assert f'Linked <code>{owner.address}</code> to <a href="tg://user?id={OWNER_1.id}">Olga</a>' in linked
        owners = await ask(telegram, OWNER_2, "/owners")
        assert f'<code>{owner.address}</code>: <a href="tg://user?id={OWNER_1.id}">Olga</a>' in owners
        # The open proposal's message now mentions the linked owner.
        mention = f"tg://user?id={OWNER_1.id}"
        await telegram.wait_for(lambda: (m := announcement(telegram, 1)) and mention in m.text, what="the mention")
        # The challenge is single use.
        _, asked = telegram.say(CHAT, OWNER_1, f"/link {owner.address} 0x{signature}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="used challenge")
        assert "no challenge waiting" in refused[0]
