"""Compose review in Telegram: a proposal file sent as a document embeds the app-compose.json, and the
announcement shows what the compose hash stands for, escaped and within Telegram's 4096 characters."""

from __future__ import annotations

import json

from bot.markup import MAX_MESSAGE
from tests.helpers.bot import CHAT, PROPOSER, announcement, running_bot, warnings_to
from tests.helpers.composes import UNPINNED_SERVICES, app_compose, canonical, sha256_hex


def _proposal_file(app: str, compose: dict[str, object], title: str = "Release 2.4") -> bytes:
    entry = {"action": "app add-hash", "app": app, "compose": compose}
    return json.dumps({"title": title, "actions": [entry]}).encode()


async def test_the_announcement_shows_the_compose_summary_with_the_unpinned_image_flagged(gov, telegram):
    compose = app_compose(UNPINNED_SERVICES, allowed_envs=["DATABASE_URL", "<b>TOKEN</b>"])
    async with running_bot(gov, telegram, poll_interval=0.3):
        telegram.send_document(CHAT, PROPOSER, "release.json", _proposal_file(gov.app_address, compose))
        message = await telegram.wait_for(lambda: announcement(telegram, 1), what="the announcement")
    text = message.text
    assert f"Allow compose hash {sha256_hex(canonical(compose))}" in text
    assert "<b>app-compose.json of action 1</b> · hash = sha256 of the file" in text
    assert "• web: <code>ghcr.io/acme/web@sha256:" in text and "✅ pinned by digest" in text
    assert "• worker: <code>ghcr.io/acme/worker:2.4</code> ⚠️ a tag, not an @sha256: digest: " \
           "the hash does not pin this code" in text  # fmt: skip
    assert "kms_enabled <code>true</code> · gateway_enabled <code>true</code> · public_logs <code>false</code>" in text
    assert "allowed_envs: <code>DATABASE_URL</code>, <code>&lt;b&gt;TOKEN&lt;/b&gt;</code>" in text
    assert "pre-launch script: none" in text
    assert "<b>Compose changes</b>: unknown: the app allowed no compose hash when this was filed" in text
    assert "⚠️ high risk: Allow compose hash" in text and "<b>TOKEN</b>" not in text
    assert len(text) <= MAX_MESSAGE


async def test_a_huge_compose_is_cut_to_fit_one_message_with_a_note(gov, telegram):
    services = "services:\n" + "".join(
        f"  svc{i:03}:\n    image: registry.example.com/acme/{'very-long-name-' * 4}{i}:latest\n" for i in range(150)
    )
    compose = app_compose(services, allowed_envs=[f"ENV_{i}" for i in range(40)])
    async with running_bot(gov, telegram, poll_interval=0.3):
        telegram.send_document(CHAT, PROPOSER, "release.json", _proposal_file(gov.app_address, compose))
        message = await telegram.wait_for(lambda: announcement(telegram, 1), what="the announcement")
    assert len(message.text.encode("utf-16-le")) // 2 <= MAX_MESSAGE
    assert "tap Details" in message.text and "app-compose.json of action 1" in message.text


async def test_a_compose_file_path_in_a_telegram_document_is_refused_politely(gov, telegram):
    entry = {"action": "app add-hash", "app": gov.app_address, "composeFile": "/etc/passwd"}
    document = json.dumps({"title": "Release", "actions": [entry]}).encode()
    async with running_bot(gov, telegram, poll_interval=0.3):
        _, sent = telegram.send_document(CHAT, PROPOSER, "release.json", document)
        refusal = await telegram.wait_for(lambda: warnings_to(telegram, sent), what="the refusal")
    assert len(refusal) == 1 and "`composeFile` is read only from a proposal file on disk" in refusal[0]
    assert gov.store.list_proposals() == []
