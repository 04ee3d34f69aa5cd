"""Fuzzing proposal files sent as Telegram documents: a one-line refusal or a valid parse, never a crash."""

from __future__ import annotations

from bot.handlers.proposing import read_proposal_document
from proposals.errors import InvalidInput
from proposals.planning import ChangeRequest
from tests.helpers.bot import CHAT, PROPOSER, replies_to, running_bot
from tests.helpers.hostile_documents import SHAPES, hostile_documents

COUNT = 300
# Sent through the running bot too: the worst shapes for the parser and for the reply.
THROUGH_THE_BOT = ("deep-json", "deep-yaml-flow", "billion-laughs", "python-object", "binary", "huge-int-json",
                   "newline-key", "wide-list")  # fmt: skip


def outcome(content: bytes) -> ChangeRequest | str:
    """Parse as the bot does; return the request, or the refusal after checking it is one short line."""
    try:
        return read_proposal_document(content, "fuzz.yaml")
    except InvalidInput as refused:
        message = refused.message
        assert len(message.splitlines()) == 1 and len(message) <= 400, message
        assert message.startswith("fuzz.yaml: ")
        return message


def test_hostile_documents_are_refused_in_one_line_or_parsed():
    documents = hostile_documents(COUNT)
    results = {index: outcome(content) for index, (_kind, content) in enumerate(documents)}  # nothing else escapes
    by_kind = {kind: results[i] for i, (kind, _) in enumerate(documents[: len(SHAPES)])}
    assert isinstance(by_kind.pop("valid-yaml"), ChangeRequest) and isinstance(by_kind.pop("valid-json"), ChangeRequest)
    assert all(isinstance(refusal, str) for refusal in by_kind.values()), by_kind
    assert by_kind["deep-json"] == "fuzz.yaml: nested deeper than 32 levels"
    assert by_kind["deep-yaml-flow"] == "fuzz.yaml: nested deeper than 32 levels"
    assert by_kind["billion-laughs"] == "fuzz.yaml: holds more than 20000 values (aliases expanded)"
    assert by_kind["self-alias"] == "fuzz.yaml: an alias refers to a node that contains it"
    assert by_kind["oversized"] == "fuzz.yaml: larger than 256 KiB"
    assert by_kind["python-object"].startswith("fuzz.yaml: not valid YAML (could not determine a constructor")
    assert by_kind["binary"] == "fuzz.yaml: not UTF-8 text"
    assert "\\n" in by_kind["newline-key"]  # the key is escaped, not a line break
    refused = sum(isinstance(r, str) for r in results.values())
    assert refused > COUNT * 0.8  # almost everything generated is wrong somehow; the rest parsed


async def test_a_sample_through_the_running_bot_gets_polite_refusals(gov, telegram):
    async with running_bot(gov, telegram):
        sent = {
            kind: telegram.send_document(CHAT, PROPOSER, f"{kind}.yaml", SHAPES[kind])[1] for kind in THROUGH_THE_BOT
        }
        for kind, message_id in sent.items():
            (reply,) = await telegram.wait_for(lambda m=message_id: replies_to(telegram, m), what=f"a reply to {kind}")
            assert reply.text.startswith(f"⚠️ {kind}.yaml: ") and len(reply.text.splitlines()) == 1, reply.text
        _, asked = telegram.say(CHAT, PROPOSER, "/pending")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="an answer after the hostile files")
    assert gov.store.list_proposals() == []
