"""/healthz says alive, /readyz checks the database, the RPC and Telegram (as the bot's outbox last saw it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.outbox import Outbox
from dstack_gov.anvil import free_port
from dstack_gov.api import create_api
from foundation.health import ProcessHealth, set_leader
from proposals.chain import connect_client
from proposals.service import GovernanceService
from proposals.store import open_store
from tests.api.conftest import TOKEN
from tests.api.test_operations import client_for
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.rpc_proxy import SECRETS, RpcProxy


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
async def ready(gov) -> AsyncIterator[tuple[httpx.AsyncClient, ProcessHealth]]:
    """A client for an API whose process health the test controls."""
    health = ProcessHealth()
    async with client_for(create_api(gov.svc, token=TOKEN, health=health)) as client:
        yield client, health


async def test_ready_alone_with_no_bot_in_the_process(ready):
    client, _ = ready
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["role"], body["chainId"]) == ("ready", "single", 1337)
    assert body["database"] == {"ok": True, "detail": ""}
    assert body["telegram"] == {"ok": None, "detail": "not used by this process"}
    assert body["endpoints"] == []  # the fixture's client was not built by connect_client: no pool to report


async def test_telegram_unreachable_makes_the_replica_unready_until_it_answers(ready):
    client, health = ready
    unreachable = Outbox(Bot("1:unreachable", base_url=f"http://127.0.0.1:{free_port()}/bot"), network_attempts=1,
                         sleep=_no_wait, health=health)  # fmt: skip
    with pytest.raises(NetworkError):
        await unreachable.call("getMe", unreachable.bot.get_me)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["telegram"]["ok"] is False and response.json()["status"] == "not ready"
    assert (await client.get("/healthz")).status_code == 200  # alive all the same
    with FakeTelegram() as telegram:
        bot = Bot(telegram.token, base_url=telegram.base_url)
        await Outbox(bot, health=health).call("getMe", bot.get_me)
    again = await client.get("/readyz")
    assert again.status_code == 200 and again.json()["telegram"] == {"ok": True, "detail": ""}


async def test_a_follower_is_ready_and_says_it_follows(ready):
    client, health = ready
    set_leader(False, health)
    body = (await client.get("/readyz")).json()
    assert (body["status"], body["role"]) == ("ready", "follower")
    set_leader(True, health)
    assert (await client.get("/readyz")).json()["role"] == "leader"


async def test_a_broken_database_is_unready_without_naming_it(gov, tmp_path: Path):
    path = tmp_path / "broken.sqlite"
    store = open_store(f"sqlite:///{path}")
    app = create_api(gov.service(store=store), token=TOKEN, health=ProcessHealth())
    store.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(b"this is no database \x00\xff" * 512)
    async with client_for(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "detail": "the database does not answer"}
    assert str(path) not in response.text


async def test_one_dead_endpoint_of_two_keeps_the_replica_ready(gov, anvil):
    with RpcProxy(anvil.url) as healthy:
        client = connect_client([f"http://127.0.0.1:{free_port()}", healthy.secret_url], timeout=2.0)
        service = GovernanceService(client=client, store=gov.store, safes=[gov.safe], kms=gov.kms_address)
        async with client_for(create_api(service, token=TOKEN, health=ProcessHealth())) as api:
            response = await api.get("/readyz")
    assert response.status_code == 200
    dead, alive = response.json()["endpoints"]
    assert dead["errors"] == {"connection": 1} and dead["health"] < alive["health"]
    assert alive["endpoint"] == healthy.url
    for secret in SECRETS:
        assert secret not in response.text
