"""Fixtures for the webhook: the deployed policy and in-process clients of the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from web3 import Web3

from authapi import Settings, create_app
from authapi.head import HeadFollower
from dstack_gov.anvil import Anvil
from dstack_gov.safe_infra import SafeInfra
from tests.authapi.transports import RecordingTransport
from tests.authapi.world import World, build_world
from tests.helpers.chain import deploy_kms_fixture, dev_account

WEBHOOK = "http://authapi.test"
SILENT_SECRET = "s3cr3t-key"

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def webhook_client(
    settings: Settings, rpc_transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield an httpx client wired in-process to a fresh webhook app; close its RPC pool afterwards."""
    app = create_app(settings, rpc_transport=rpc_transport)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WEBHOOK) as client:
            yield client
    finally:
        await app.state.webhook.reader.aclose()


@asynccontextmanager
async def recorded_client(
    anvil: Anvil, world: World, block_cache: bool
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingTransport]]:
    """Yield a webhook client on the session chain and the transport that records its RPC batches."""
    transport = RecordingTransport()
    settings = Settings(rpc_url=anvil.url, kms_address=world.kms.kms_address, block_cache=block_cache)
    async with webhook_client(settings, rpc_transport=transport) as client:
        yield client, transport


@asynccontextmanager
async def cached_client(
    url: str, kms: str, interval: float, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, HeadFollower]]:
    """Yield a webhook client with the block cache on (polling every `interval` s) and its head follower."""
    settings = Settings(rpc_url=url, kms_address=kms, block_cache=True, head_poll_interval=interval)  # type: ignore[arg-type]
    app = create_app(settings, rpc_transport=transport)
    follower = app.state.webhook.reader.head
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WEBHOOK) as client:
            yield client, follower
    finally:
        await app.state.webhook.reader.aclose()


@pytest.fixture
async def silent_rpc() -> AsyncIterator[str]:
    """Return the URL of a loopback server that accepts connections and never answers (for 10 s at most)."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=10)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/key/{SILENT_SECRET}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="session")
def world(w3: Web3, safe_infra: SafeInfra) -> World:
    """The policy, deployed once per session before any test's snapshot, so every revert keeps it.

    It comes after the Safe contracts whatever the test order, so it never shifts their addresses.
    """
    return build_world(deploy_kms_fixture(w3, dev_account(0)))


@pytest.fixture
def client_for(anvil: Anvil, world: World) -> ClientFactory:
    """Return a factory of webhook clients on the session chain; keyword arguments override Settings."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        fields: dict[str, Any] = {"rpc_url": anvil.url, "kms_address": world.kms.kms_address}
        fields.update(overrides)
        return webhook_client(Settings(**fields))

    return factory


@pytest.fixture
async def client(client_for: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A webhook client with default settings (no block cache)."""
    async with client_for() as c:
        yield c
