"""A database locked by another process: bot writes give up soon and the chat gets a polite reply."""

from __future__ import annotations

import sqlite3
from functools import partial

from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    announcement,
    image,
    propose_image,
    replies_to,
    running_bot,
    warnings_to,
)

# Far below the store's 30 s busy timeout: each write gives up after the bot's 2 s lock wait.
WITHIN = 15.0


async def test_propose_and_sign_while_another_process_locks_the_database(gov, telegram):
    path = gov.db_url.removeprefix("sqlite:///")
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
        typed = gov.svc.typed_data(proposal.id)
        signature = gov.owners[0].sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")
        other = sqlite3.connect(path, isolation_level=None)  # another process's connection, as sqlite3 opens it
        try:
            other.execute("BEGIN EXCLUSIVE")
            _, proposing = telegram.say(CHAT, PROPOSER, f"/propose kms-add-image {image(2)}")
            _, signing = telegram.say(CHAT, OWNER_1, f"/sign {proposal.id} 0x{signature}")
            for asked in (proposing, signing):
                busy = await telegram.wait_for(partial(warnings_to, telegram, asked), within=WITHIN, what="busy")
                assert busy[0].startswith("⚠️ Sorry, ") and f"the database {path} is busy" in busy[0]
                assert "try again" in busy[0]
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert len(gov.store.signatures(proposal.id)) == 0 and len(gov.store.list_proposals()) == 1
        _, again = telegram.say(CHAT, OWNER_1, f"/sign {proposal.id} 0x{signature}")
        done = await telegram.wait_for(lambda: replies_to(telegram, again), what="the signature, once free")
    assert "1/2" in done[0].text
