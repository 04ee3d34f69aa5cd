"""The issue's story, end to end on anvil through the real PTB client and the fake Bot API.

A proposer types /propose in the signers' chat and the announcement appears; one owner signs the
/typeddata file with cast and pastes the signature with /sign; another owner calls approveHash on
chain and the watcher picks it up; the proposal executes with no human step and the announcement
is edited with the transaction hash.
"""

from __future__ import annotations

from hexbytes import HexBytes

from proposals.models import ProposalState
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    announcement,
    cast_sign_file,
    replies_to,
    running_bot,
    save_document,
)

COMPOSE_HASH = "0x" + "b2" * 32


async def test_propose_sign_approve_hash_and_execute(gov, telegram, tmp_path):
    async with running_bot(gov, telegram, poll_interval=0.3):
        _, asked = telegram.say(
            CHAT, PROPOSER,
            f"/propose app-add-hash {gov.app_address} {COMPOSE_HASH}\n"
            "Release 1.2 <compose> & friends\n"
            "The new compose file for release 1.2.",
        )  # fmt: skip
        filed = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the /propose reply")
        assert "Filed as proposal #1" in filed[0].text
        message = await telegram.wait_for(lambda: announcement(telegram, 1), what="the announcement")
        text = message.text
        assert "Release 1.2 &lt;compose&gt; &amp; friends" in text
        assert 'href="tg://user?id=1001">Paula</a>' in text
        assert (
            f"Allow compose hash {COMPOSE_HASH}" in text and "allowed: <code>false</code> → <code>true</code>" in text
        )
        assert gov.safe in text and "nonce 0" in text
        proposal = gov.store.get(1)
        assert "0x" + proposal.safe_tx_hash.hex() in text and "domain hash" in text and "message hash" in text
        assert "Signatures 0/2" in text and "Expires" in text
        assert [b["text"] for b in message.buttons] == ["📄 Typed data", "🔎 Details", "✖️ Cancel"]

        _, asked = telegram.say(CHAT, OWNER_1, "/typeddata 1")
        sent = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the typed data file")
        assert sent[0].document is not None and sent[0].document[0] == "proposal-1-typed-data.json"
        signature = cast_sign_file(gov.owners[0], save_document(sent[0], tmp_path))
        _, asked = telegram.say(CHAT, OWNER_1, f"/sign 1 0x{signature.hex()}")
        signed = await telegram.wait_for(lambda: replies_to(telegram, asked), what="the /sign reply")
        assert "1/2" in signed[0].text and gov.owners[0].address in signed[0].text
        await telegram.wait_for(lambda: "Signatures 1/2" in telegram.message(CHAT, message.message_id).text,
                                what="the edit showing 1/2")  # fmt: skip

        gov.approve_hash(gov.owners[1], proposal.safe_tx_hash)
        executed = await telegram.wait_for(
            lambda: "✅ Executed" in (m := telegram.message(CHAT, message.message_id)).text and m, what="execution"
        )
        done = gov.store.get(1)
        assert done.state is ProposalState.EXECUTED and done.execution_tx_hash is not None
        tx = "0x" + done.execution_tx_hash.hex()
        assert f'href="https://explorer.test/tx/{tx}"' in executed.text
        assert "Signatures 2/2" in executed.text and "approved_hash" in executed.text
        assert [b["text"] for b in executed.buttons] == ["🔎 Details"]
        outcome = await telegram.wait_for(
            lambda: [m for m in replies_to(telegram, message.message_id) if "executed in" in m.text], what="outcome"
        )
        assert tx[:8] in outcome[0].text
        assert gov.app.functions.allowedComposeHashes(bytes(HexBytes(COMPOSE_HASH))).call()
        # One announcement, edited in place; every call to Telegram succeeded.
        assert sum(1 for m in telegram.bot_messages(CHAT) if "Proposal #1</b>" in m.text) == 1
        assert all(c.status == 200 for c in telegram.calls() if c.method != "getUpdates")
