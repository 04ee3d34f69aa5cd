"""Bot test helpers: the people in the chat, settings pointing at the fake Bot API, a running bot."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from bot.actors import TelegramActor
from bot.runner import BotRuntime
from bot.settings import BotSettings, Roles
from dstack_gov.api import create_api, listen
from proposals.catalogue import get_action
from proposals.models import Proposal
from proposals.planning import ChangeRequest, RequestedAction
from proposals.service import GovernanceService
from tests.helpers.config_file import write_config
from tests.helpers.fake_telegram import ChatMessage, FakeTelegram, FakeUser
from tests.helpers.governance import Governance
from tests.helpers.safes import AppSafe

CHAT = -1001000000001
CHAT_B = -1001000000002  # the second Safe's signers (tests with two Safes in two chats)
OTHER_CHAT = -1001000000999
PROPOSER = FakeUser(1001, "Paula", "paula")
ADMIN = FakeUser(1002, "Adam")
OWNER_1 = FakeUser(2001, "Olga", "olga")
OWNER_2 = FakeUser(2002, "Omar")
STRANGER = FakeUser(3001, "Mallory")
CAST = Path(__file__).resolve().parents[2] / "node_modules/.bin/cast"
DSTACK_GOV = Path(sys.executable).parent / "dstack-gov"
WEBHOOK_URL = "https://gov.example/telegram/hook"


def settings_for(gov: Governance, telegram: FakeTelegram, **overrides: Any) -> BotSettings:
    """Return bot settings for `gov`'s Safe and chat CHAT, talking to the fake Bot API."""
    settings = BotSettings(
        token=telegram.token,
        chats={gov.safe: CHAT},
        safe_names={gov.safe: "test safe"},
        roles=Roles(proposers=frozenset({PROPOSER.id}), admins=frozenset({ADMIN.id})),
        base_url=telegram.base_url,
        base_file_url=telegram.base_file_url,
        reminder_interval=3600,
        poll_interval=3600,  # the watcher runs once at start; tests that need it set it lower
        retry_interval=3600,
        polling_timeout=1,
        network_backoff=0.05,
        explorer_tx_url="https://explorer.test/tx/{hash}",
        explorer_address_url="https://explorer.test/address/",
    )
    return replace(settings, **overrides)


@asynccontextmanager
async def running_bot(
    gov: Governance, telegram: FakeTelegram, service: GovernanceService | None = None, **overrides: Any
) -> AsyncIterator[BotRuntime]:
    """Run the bot, the scheduler and the watcher against `gov` and the fake Bot API."""
    runtime = BotRuntime(settings_for(gov, telegram, **overrides), service or gov.service(), db_url=gov.db_url)
    async with runtime:
        yield runtime


@asynccontextmanager
async def running_webhook(gov: Governance, telegram: FakeTelegram) -> AsyncIterator[tuple[BotRuntime, str]]:
    """Run the bot in webhook mode beside the API on a free loopback port; yield it and that port's base URL."""
    sock = listen("127.0.0.1", 0)
    service = gov.service()
    settings = settings_for(gov, telegram, webhook_url=WEBHOOK_URL)
    runtime = BotRuntime(settings, service, db_url=gov.db_url, http_app=create_api(service, token=None),
                         http_socket=sock, webhook=True)  # fmt: skip
    try:
        async with runtime:
            yield runtime, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@asynccontextmanager
async def run_process(
    config: Path, token: str, *options: str, log: Path | None = None, startup: float = 30.0
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, Any]]]:
    """Start `dstack-gov [options] run --config <config> --json` (stderr to `log`, else dropped).

    Yield the process and its start-up summary line; kill it on the way out if it is still running.
    """
    env = {**os.environ, "DSTACK_GOV_TELEGRAM_TOKEN": token}
    with ExitStack() as files:
        stderr = files.enter_context(log.open("w")) if log is not None else asyncio.subprocess.DEVNULL
        process = await asyncio.create_subprocess_exec(
            str(DSTACK_GOV), *options, "run", "--config", str(config), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        summary = json.loads(await asyncio.wait_for(process.stdout.readline(), startup))
        yield process, summary
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop_with_sigterm(process: asyncio.subprocess.Process, *, within: float = 30.0) -> int:
    """Send SIGTERM and return the exit code (TimeoutError if it takes longer than `within`)."""
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), within)


@asynccontextmanager
async def running_two_chats(
    gov: Governance, telegram: FakeTelegram, other: AppSafe, **overrides: Any
) -> AsyncIterator[BotRuntime]:
    """Run the bot with gov's Safe in CHAT and `other` in CHAT_B (one service knowing both)."""
    chats = overrides.pop("chats", {gov.safe: CHAT, other.address: CHAT_B})
    names = {gov.safe: "test safe", other.address: "app safe"}
    service = gov.service(extra_safes=[other.address])
    async with running_bot(gov, telegram, service, chats=chats, safe_names=names, **overrides) as runtime:
        yield runtime


async def run_job(telegram: FakeTelegram, runtime: BotRuntime, name: str, job: Callable[[], Awaitable[None]]) -> None:
    """Run a stored job now, as the scheduler does when it is due, once that job is not already running.

    A job running when it is called again skips that turn (bot/jobs.py); waiting for it first makes the
    call do the work, so a test needs no real interval to elapse.
    """
    host = runtime.host
    assert host is not None, "the bot is not running"
    await telegram.wait_for(lambda: name not in host.active, what=f"job {name} to finish its turn")
    await job()


def announcement(telegram: FakeTelegram, proposal_id: int, chat: int = CHAT) -> ChatMessage | None:
    """Return the announcement of proposal `proposal_id` in `chat`, if sent."""
    for message in telegram.bot_messages(chat):
        if f"#{proposal_id}</b>:" in message.text and "Proposal" in message.text.split("\n", 1)[0]:
            return message
    return None


def replies_to(telegram: FakeTelegram, message_id: int) -> list[ChatMessage]:
    """Return the bot's replies to a message."""
    return [m for m in telegram.bot_messages() if m.reply_to == message_id]


def document_json(message: ChatMessage) -> Any:
    """Return the JSON content of a document the bot sent."""
    assert message.document is not None, "not a document"
    return json.loads(message.document[1])


def cast_sign_file(account: LocalAccount, path: Path) -> bytes:
    """Sign a typed-data file exactly as an owner would: `cast wallet sign --data --from-file`."""
    assert CAST.exists(), f"cast is missing at {CAST} (run npm ci)"
    key = "0x" + account.key.hex()
    done = subprocess.run([str(CAST), "wallet", "sign", "--data", "--from-file", str(path), "--private-key", key],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return bytes(HexBytes(done.stdout.strip()))


def cast_sign_message(account: LocalAccount, text: str) -> bytes:
    """Sign a text with personal_sign, as `cast wallet sign '<text>'` does."""
    assert CAST.exists(), f"cast is missing at {CAST} (run npm ci)"
    done = subprocess.run([str(CAST), "wallet", "sign", "--private-key", "0x" + account.key.hex(), text],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return bytes(HexBytes(done.stdout.strip()))


def save_document(message: ChatMessage, directory: Path) -> Path:
    """Save a document the bot sent under its own file name; return the path."""
    assert message.document is not None, "not a document"
    path = directory / message.document[0]
    path.write_bytes(message.document[1])
    return path


def image(n: int) -> str:
    """Return a distinct OS image hash as 0x-hex."""
    return "0x" + n.to_bytes(32, "big").hex()


async def propose_image(runtime: BotRuntime, n: int, *, by: FakeUser = PROPOSER, description: str = "") -> Proposal:
    """File `kms-add-image image(n)` through the running bot's service, as `by` would from Telegram."""
    action = RequestedAction(get_action("kms-add-image"), {"osImageHash": image(n)})
    request = ChangeRequest(f"Allow image {n}", (action,), description)
    actor = str(TelegramActor(by.id, by.first_name))
    return await runtime.core.write(runtime.service.propose, request, proposer=actor)


async def propose_hash(runtime: BotRuntime, other: AppSafe, n: int, *, by: FakeUser = PROPOSER) -> Proposal:
    """File `app-add-hash image(n)` on `other`'s app through the running bot's service (`other` signs it)."""
    action = RequestedAction(get_action("app-add-hash"), {"composeHash": image(n)}, other.app)
    actor = str(TelegramActor(by.id, by.first_name))
    return await runtime.core.write(
        runtime.service.propose, ChangeRequest(f"Allow hash {n}", (action,)), proposer=actor
    )


def answer_of(telegram: FakeTelegram, query_id: str) -> dict[str, str] | None:
    """Return the parameters of the bot's answer to a callback query, once given."""
    for call in telegram.calls("answerCallbackQuery"):
        if call.params.get("callback_query_id") == query_id and call.status == 200:
            return {k: str(v) for k, v in call.params.items()}
    return None


def warnings_to(telegram: FakeTelegram, message_id: int) -> list[str]:
    """Return the texts of the bot's error replies (⚠️) to a message."""
    return [m.text for m in replies_to(telegram, message_id) if m.text.startswith("⚠️")]


def write_run_config(
    gov: Governance, anvil_url: str, telegram: FakeTelegram, directory: Path, *, poll_interval: float = 0.5
) -> Path:
    """Write a deployment's config for `dstack-gov run`: the Safe and its chat, the fake Bot API, roles."""
    return write_config(
        gov, anvil_url, directory,
        safe_extra=f'name = "ops"\ntelegram_chat_id = {CHAT}\n',
        extra=(f'[telegram]\napi_base_url = "{telegram.base_url}"\nproposers = [{PROPOSER.id}]\n\n'
               f"[schedule]\npoll_interval = {poll_interval}\n\n"
               '[api]\nhost = "127.0.0.1"\nport = 0\n'),
    )  # fmt: skip
