"""Bad input gets a one-line reason in the chat: never a traceback, never a crash, nothing lost."""

from __future__ import annotations

from eth_account.messages import encode_defunct

from proposals.models import ProposalState
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    STRANGER,
    image,
    propose_image,
    replies_to,
    running_bot,
    warnings_to,
)
from tests.helpers.chain import dev_account

CASES = [
    ("/propose app-add-hsh 0x1 0x2", "unknown action 'app-add-hsh'; did you mean app-add-hash"),
    ("/propose kms-add-image 0x1234", "osImageHash: expected 32 bytes (64 hex digits), got 2"),
    ("/propose kms-add-image", "missing osImageHash. Usage: /propose kms-add-image &lt;osImageHash&gt;"),
    ("/sign", "proposal id missing. Usage: /sign &lt;id&gt; 0x&lt;signature&gt; [owner]"),
    ("/sign abc 0x12", "proposal id invalid"),
    ("/sign 1 0xzz", "malformed signature: not hex"),
    ("/sign 1 0x1234", "malformed signature: expected 65 bytes (130 hex digits), got 2"),
    ("/sign 1 0x" + "00" * 64 + "05", "malformed signature: unknown type v=5"),
    ("/sign 99 0x" + "00" * 65, "no proposal #99"),
    ("/status 99", "#99"),
    ("/status", "proposal id missing"),
    ("/status 99999999999999999999999", "proposal id invalid"),  # past the database's 64-bit ids
    ("/cancel 9223372036854775808", "proposal id invalid"),
    ("/typeddata 0", "proposal id invalid"),
    ("/link nope", "address: not an address"),
    ("/help no-such-action", "unknown action 'no-such-action'"),
]


async def test_malformed_commands_get_one_line(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        await propose_image(runtime, 1)
        for text, reason in CASES:
            user = PROPOSER if text.startswith("/propose") else STRANGER
            _, asked = telegram.say(CHAT, user, text)
            replies = await telegram.wait_for(lambda a=asked: warnings_to(telegram, a), what=f"the reason for {text}")
            assert len(replies) == 1 and "\n" not in replies[0] and "Traceback" not in replies[0], text
            assert reason.lower() in replies[0].lower(), (text, replies[0])
        assert gov.store.get(1).state is ProposalState.PENDING and not gov.store.signatures(1)
        assert len(gov.store.list_proposals()) == 1


async def test_signatures_from_non_owners_or_over_another_hash_are_refused(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        proposal = await propose_image(runtime, 1)
        typed = gov.svc.typed_data(proposal.id)
        outsider = dev_account(7).sign_typed_data(full_message=typed).signature.hex()
        other_hash = gov.owners[0].sign_message(encode_defunct(primitive=b"\x01" * 32)).signature.hex()
        for signature, reason in ((outsider, "is not an owner of Safe"), (other_hash, "is not an owner of Safe")):
            _, asked = telegram.say(CHAT, OWNER_1, f"/sign {proposal.id} 0x{signature.removeprefix('0x')}")
            refused = await telegram.wait_for(lambda a=asked: warnings_to(telegram, a), what="the refusal")
            assert reason in refused[0]
        assert not gov.store.signatures(proposal.id)
        assert [e.event for e in gov.store.audit(proposal_id=proposal.id)].count("signature-refused") == 2
        # The same owner twice: the second is a conflict, the first still counts.
        good = gov.owners[0].sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")
        for expected in ("1/2", "already signed"):
            _, asked = telegram.say(CHAT, OWNER_1, f"/sign {proposal.id} 0x{good}")
            answer = await telegram.wait_for(lambda a=asked: replies_to(telegram, a), what="the answer")
            assert expected in answer[0].text
        assert len(gov.store.signatures(proposal.id)) == 1


async def test_a_proposal_that_would_revert_is_refused_with_the_reason(gov, telegram):
    async with running_bot(gov, telegram) as runtime:
        await propose_image(runtime, 1)
        _, asked = telegram.say(CHAT, PROPOSER, f"/propose kms-remove-image {image(5)}")
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="the refusal")
        assert "is not allowed (nothing to remove)" in refused[0]
        assert len(gov.store.list_proposals()) == 1


async def test_a_refused_precheck_can_be_forced_by_a_proposer(gov, telegram):
    same_threshold = f"/propose safe-change-threshold {gov.threshold}"
    async with running_bot(gov, telegram):
        _, asked = telegram.say(CHAT, PROPOSER, same_threshold)
        refused = await telegram.wait_for(lambda: warnings_to(telegram, asked), what="the precheck refusal")
        assert f"threshold is already {gov.threshold}" in refused[0] and "force" in refused[0]
        assert gov.store.list_proposals() == []

        _, forced = telegram.say(CHAT, PROPOSER, same_threshold + " --force")
        filed = await telegram.wait_for(
            lambda: [m.text for m in replies_to(telegram, forced) if "Filed as proposal #" in m.text],
            what="the forced proposal",
        )
        assert filed and warnings_to(telegram, forced) == []
        (proposal,) = gov.store.list_proposals()
        assert proposal.actions[0].action == "safe-change-threshold" and proposal.safe == gov.safe
