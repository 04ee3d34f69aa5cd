"""Policy as code in the chat: /plan with a policy file, its Apply button (scoped, refused when outdated),
/drift, and the drift alert posted once and edited as the drift grows."""

from __future__ import annotations

import asyncio

import yaml

from bot.handlers.policy import GONE
from proposals.models import ProposalState
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    STRANGER,
    announcement,
    answer_of,
    replies_to,
    running_bot,
    running_two_chats,
    warnings_to,
)
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance
from tests.helpers.safes import add_app_safe
from tests.proposals.test_policy_as_code import h, owner_tx


def policy(**sections: object) -> bytes:
    """Return a policy file's bytes."""
    return yaml.safe_dump(sections).encode()


async def plan_reply(telegram: FakeTelegram, chat: int, content: bytes, name: str = "policy.yaml"):
    """Send a policy file captioned /plan; return the bot's reply (the plan)."""
    _, sent = telegram.send_document(chat, PROPOSER, name, content, caption="/plan")
    replies = await telegram.wait_for(lambda: replies_to(telegram, sent), what="the plan")
    return replies[0]


async def test_plan_then_apply_files_the_chats_proposal(gov: Governance, telegram: FakeTelegram):
    other = add_app_safe(gov)
    async with running_two_chats(gov, telegram, other) as runtime:
        content = policy(osImages=[h(2)], apps={gov.app_address: {"composeHashes": [h(12)]}})
        plan = await plan_reply(telegram, CHAT, content)
        assert "2 change(s)" in plan.text and "Allow OS image" in plan.text and "plan hash" in plan.text
        data = plan.button_data("Apply")

        query = telegram.tap(CHAT, STRANGER, plan.message_id, data)  # not a proposer: refused, plan kept
        answer = await telegram.wait_for(lambda: answer_of(telegram, query), what="the refusal")
        assert answer["text"].startswith("Not allowed: only proposers and admins may propose")

        query = telegram.tap(CHAT, PROPOSER, plan.message_id, data)
        await telegram.wait_for(lambda: answer_of(telegram, query), what="the answer")
        (filed,) = runtime.service.list_proposals()
        assert filed.safe == gov.safe and len(filed.actions) == 2 and filed.state is ProposalState.PENDING
        await telegram.wait_for(lambda: announcement(telegram, filed.id), what="the announcement")
        edited = telegram.message(CHAT, plan.message_id)
        assert f"filed #{filed.id}" in edited.text and edited.buttons == []

        again = telegram.tap(CHAT, PROPOSER, plan.message_id, data)  # the same plan cannot be filed twice
        answer = await telegram.wait_for(lambda: answer_of(telegram, again), what="the second answer")
        assert answer["text"] == GONE and len(runtime.service.list_proposals()) == 1

        theirs = await plan_reply(telegram, CHAT, policy(apps={other.app: {"composeHashes": [h(5)]}}))
        assert theirs.buttons == [] and "Not this chat's to apply" in theirs.text and other.address in theirs.text


async def test_an_outdated_plan_is_refused(gov: Governance, telegram: FakeTelegram):
    async with running_bot(gov, telegram) as runtime:
        plan = await plan_reply(telegram, CHAT, policy(osImages=[h(2)]))
        owner_tx(gov, gov.safe, gov.owners[:2], gov.kms_address, "kms-add-image", osImageHash=h(7))

        query = telegram.tap(CHAT, PROPOSER, plan.message_id, plan.button_data("Apply"))
        answer = await telegram.wait_for(lambda: answer_of(telegram, query), what="the refusal")
        assert answer["text"].startswith("Refused: the chain changed since this plan")
        assert "Out of date: the chain changed since the plan" in telegram.message(CHAT, plan.message_id).text
        assert runtime.service.list_proposals() == [] and runtime.service.last_applied_policy() is None


async def test_malformed_plan_file_gets_a_one_line_reason(gov: Governance, telegram: FakeTelegram):
    async with running_bot(gov, telegram) as runtime:
        _, sent = telegram.send_document(CHAT, PROPOSER, "p.yaml", b"osImages: [0x12]", caption="/plan")
        (warning,) = await telegram.wait_for(lambda: warnings_to(telegram, sent), what="the refusal")
        assert warning == "⚠️ p.yaml: osImages[0]: osImageHash: expected 32 bytes (64 hex digits), got 1"
        _, sent = telegram.send_document(CHAT, PROPOSER, "p.yaml", b"apps: {}\ncomposeFiles: [a]", caption="/plan")
        (warning,) = await telegram.wait_for(lambda: warnings_to(telegram, sent), what="the refusal")
        assert warning == "⚠️ p.yaml: composeFiles: Extra inputs are not permitted"
        assert runtime.service.list_proposals() == []


def drift_alerts(telegram: FakeTelegram) -> list:
    return [m for m in telegram.bot_messages(CHAT) if "Policy drift" in m.text and m.reply_to is None]


async def test_drift_is_alerted_once_and_the_alert_edited_as_it_grows(gov: Governance, telegram: FakeTelegram):
    spec, _ = gov.svc.export_policy()
    gov.svc.apply_policy(spec, plan_hash=gov.svc.plan_policy(spec).plan_hash, proposer="test", source="export")
    async with running_bot(gov, telegram, poll_interval=0.2):
        receipt = owner_tx(gov, gov.safe, gov.owners[:2], gov.kms_address, "kms-add-image", osImageHash=h(9))
        (alert,) = await telegram.wait_for(lambda: drift_alerts(telegram), what="the drift alert")
        assert (
            h(9) in alert.text
            and "outside dstack-gov" in alert.text
            and f"block {receipt['blockNumber']}" in alert.text
        )
        await asyncio.sleep(1.0)  # several passes of the watcher over the same drift
        assert len(drift_alerts(telegram)) == 1 and not telegram.calls("editMessageText")

        owner_tx(gov, gov.safe, gov.owners[:2], gov.app_address, "app-add-hash", composeHash=h(10))
        grown = await telegram.wait_for(
            lambda: [m for m in drift_alerts(telegram) if h(10) in m.text], what="the edited alert"
        )
        assert [m.message_id for m in grown] == [alert.message_id] and len(drift_alerts(telegram)) == 1
        assert "2 item(s) differ" in grown[0].text

        _, asked = telegram.say(CHAT, OWNER_1, "/drift")
        (shown,) = await telegram.wait_for(lambda: replies_to(telegram, asked), what="/drift")
        assert h(9) in shown.text and h(10) in shown.text
