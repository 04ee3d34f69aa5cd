"""`dstack-gov run` as a real process (bot + scheduler + API, SIGTERM), and webhook mode in-process."""

from __future__ import annotations

import httpx

from bot.webhook import SECRET_HEADER, webhook_secret
from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    announcement,
    propose_image,
    replies_to,
    run_process,
    running_webhook,
    stop_with_sigterm,
    write_run_config,
)
from tests.helpers.cli import run_cli


async def test_run_serves_bot_and_api_and_stops_on_sigterm_without_logging_the_token(anvil, gov, telegram, tmp_path):
    action = RequestedAction(get_action("kms-add-image"), {"osImageHash": "0x" + "ab" * 32})
    proposal = gov.svc.propose(ChangeRequest("Filed from the CLI", (action,)), proposer="cli:ops")
    config = write_run_config(gov, anvil.url, telegram, tmp_path)
    log = tmp_path / "run.log"
    async with run_process(config, telegram.token, "-v", log=log) as (process, summary):
        assert summary["updates"] == "long polling" and summary["chats"] == [CHAT]
        # Filed elsewhere while the bot was not running: announced by the catch-up.
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), within=30, what="catch-up")
        assert "cli:ops" in message.text
        async with httpx.AsyncClient(base_url=summary["http"]) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get(f"/api/proposals/{proposal.id}")).json()["state"] == "pending"
        _, asked = telegram.say(CHAT, OWNER_1, "/pending")
        await telegram.wait_for(lambda: replies_to(telegram, asked), within=15, what="a reply")
        code = await stop_with_sigterm(process)
    assert code == 0
    assert telegram.pending_updates() == 0
    logged = log.read_text()
    assert "Set Bot API URL" in logged  # debug logging was on, and PTB logged its URL...
    assert telegram.token not in logged and telegram.token.split(":")[1] not in logged  # ...without the token


async def test_webhook_mode_serves_updates_next_to_the_api(gov, telegram):
    async with running_webhook(gov, telegram) as (runtime, url):
        assert telegram.webhook is not None and telegram.webhook["url"] == "https://gov.example/telegram/hook"
        secret = webhook_secret(telegram.token)
        assert telegram.webhook["secret_token"] == secret and telegram.token not in secret
        await propose_image(runtime, 1)
        async with httpx.AsyncClient(base_url=url) as client:
            update = telegram.message_update(CHAT, OWNER_1, "/pending")
            refused = await client.post("/telegram/hook", json=update, headers={SECRET_HEADER: "wrong"})
            assert refused.status_code == 403
            accepted = await client.post("/telegram/hook", json=update, headers={SECRET_HEADER: secret})
            assert accepted.status_code == 200
            reply = await telegram.wait_for(lambda: replies_to(telegram, update["message"]["message_id"]),
                                            what="the webhook update's reply")  # fmt: skip
            assert "Open proposals (1)" in reply[0].text
            assert (await client.get("/healthz")).status_code == 200
        assert telegram.calls("getUpdates") == []


def test_run_explains_configuration_problems(anvil, gov, telegram, tmp_path, capsys, monkeypatch):
    config = write_run_config(gov, anvil.url, telegram, tmp_path)
    monkeypatch.delenv("DSTACK_GOV_TELEGRAM_TOKEN", raising=False)
    missing = run_cli(capsys, "run", "--config", str(config))
    assert missing.code == 2 and "no Telegram bot token" in missing.error_line
    monkeypatch.setenv("DSTACK_GOV_TELEGRAM_TOKEN", "999:not-the-token")
    refused = run_cli(capsys, "run", "--config", str(config), "--no-api")
    assert refused.code == 2 and refused.err.splitlines()[-1].startswith("error: Telegram refused the bot token")
    assert "not-the-token" not in refused.err
    config.write_text(config.read_text().replace(f"telegram_chat_id = {CHAT}\n", ""))
    no_chat = run_cli(capsys, "run", "--config", str(config))
    assert no_chat.code == 2 and "no signers' chat" in no_chat.error_line
    webhook = tmp_path / "webhook.toml"
    webhook.write_text(write_run_config(gov, anvil.url, telegram, tmp_path).read_text())
    no_url = run_cli(capsys, "run", "--config", str(webhook), "--webhook")
    assert no_url.code == 2 and "--webhook needs telegram.webhook_url" in no_url.error_line
