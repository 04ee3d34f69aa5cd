"""`dstack-gov run` as a real process (bot + scheduler + API, SIGTERM), and webhook mode in-process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx

from bot.runner import BotRuntime
from bot.webhook import SECRET_HEADER, webhook_secret
from dstack_gov.api import create_api, listen
from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from tests.helpers.bot import CHAT, OWNER_1, PROPOSER, announcement, propose_image, replies_to, settings_for
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance

DSTACK_GOV = Path(sys.executable).parent / "dstack-gov"


def write_config(gov: Governance, anvil_url: str, telegram: FakeTelegram, directory: Path) -> Path:
    """Write a deployment's config: the Safe and its chat, the fake Bot API, roles, fast polling."""
    assert gov.executor_account is not None
    key_file = directory / "executor.key"
    key_file.write_text("0x" + gov.executor_account.key.hex())
    config = directory / "dstack-gov.toml"
    config.write_text(
        f'[chain]\nrpc_url = "{anvil_url}"\nchain_id = 1337\n\n'
        f'[contracts]\nkms = "{gov.kms_address}"\n\n'
        f'[safe_infra]\nmulti_send_call_only = "{gov.infra.multi_send_call_only}"\n'
        f'simulate_tx_accessor = "{gov.infra.simulate_tx_accessor}"\n\n'
        f'[[safes]]\naddress = "{gov.safe}"\nname = "ops"\ntelegram_chat_id = {CHAT}\n\n'
        f'[executor]\nfile = "{key_file}"\n\n'
        f'[database]\nurl = "{gov.db_url}"\n\n'
        f'[telegram]\napi_base_url = "{telegram.base_url}"\nproposers = [{PROPOSER.id}]\n\n'
        "[schedule]\npoll_interval = 0.5\n\n"
        '[api]\nhost = "127.0.0.1"\nport = 0\n'
    )
    return config


async def test_run_serves_bot_and_api_and_stops_on_sigterm_without_logging_the_token(anvil, gov, telegram, tmp_path):
    action = RequestedAction(get_action("kms-add-image"), {"osImageHash": "0x" + "ab" * 32})
    proposal = gov.svc.propose(ChangeRequest("Filed from the CLI", (action,)), proposer="cli:ops")
    config = write_config(gov, anvil.url, telegram, tmp_path)
    log = tmp_path / "run.log"
    env = {**os.environ, "DSTACK_GOV_TELEGRAM_TOKEN": telegram.token}
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(DSTACK_GOV), "-v", "run", "--config", str(config), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        summary = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        assert summary["updates"] == "long polling" and summary["chats"] == [CHAT]
        # Filed elsewhere while the bot was not running: announced by the catch-up.
        message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), within=30, what="catch-up")
        assert "cli:ops" in message.text
        async with httpx.AsyncClient(base_url=summary["http"]) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get(f"/api/proposals/{proposal.id}")).json()["state"] == "pending"
        _, asked = telegram.say(CHAT, OWNER_1, "/pending")
        await telegram.wait_for(lambda: replies_to(telegram, asked), within=15, what="a reply")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0
    assert telegram.pending_updates() == 0
    logged = log.read_text()
    assert "Set Bot API URL" in logged  # debug logging was on, and PTB logged its URL...
    assert telegram.token not in logged and telegram.token.split(":")[1] not in logged  # ...without the token


async def test_webhook_mode_serves_updates_next_to_the_api(gov, telegram):
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    service = gov.service()
    settings = settings_for(gov, telegram, webhook_url="https://gov.example/telegram/hook")
    runtime = BotRuntime(settings, service, db_url=gov.db_url, http_app=create_api(service, token=None),
                         http_socket=sock, webhook=True)  # fmt: skip
    try:
        async with runtime:
            assert telegram.webhook is not None and telegram.webhook["url"] == "https://gov.example/telegram/hook"
            secret = webhook_secret(telegram.token)
            assert telegram.webhook["secret_token"] == secret and telegram.token not in secret
            await propose_image(runtime, 1)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
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
    finally:
        sock.close()
