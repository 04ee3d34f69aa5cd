"""One RPC round trip per request, and a block cache that saves work yet never serves a stale answer."""

from __future__ import annotations

import pytest

from tests.authapi.conftest import recorded_client
from tests.authapi.world import GATEWAY_APP_ID, app_request, kms_request

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def uncached(anvil, world):
    async with recorded_client(anvil, world, block_cache=False) as pair:
        yield pair


@pytest.fixture
async def cached(anvil, world):
    async with recorded_client(anvil, world, block_cache=True) as pair:
        yield pair


def head(w3) -> str:
    return hex(w3.eth.block_number)


async def test_one_batch_of_two_eth_calls_per_request(world, uncached):
    client, rpc = uncached
    for body in (app_request(world.app), app_request(world.app, composeHash="0x01"), app_request(world.app)):
        assert (await client.post("/bootAuth/app", json=body)).status_code == 200
    assert (await client.post("/bootAuth/kms", json=kms_request())).json()["isAllowed"] is True
    assert rpc.methods() == [["eth_call", "eth_call"]] * 4
    assert rpc.blocks() == [["latest", "latest"]] * 4


async def test_status_is_one_batch_too(world, uncached):
    client, rpc = uncached
    assert (await client.get("/")).status_code == 200
    assert rpc.methods() == [["eth_chainId", "eth_call", "eth_call"]]


async def test_cache_serves_a_repeat_at_the_same_block_from_one_block_number(w3, world, cached):
    client, rpc = cached
    at = head(w3)
    first = await client.post("/bootAuth/app", json=app_request(world.app))
    repeat = await client.post("/bootAuth/app", json=app_request(world.app))
    assert first.content == repeat.content
    assert repeat.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    assert rpc.methods() == [["eth_blockNumber"], ["eth_call", "eth_call"], ["eth_blockNumber"]]
    assert rpc.blocks() == [[], [at, at], []]


async def test_cache_shares_the_gateway_answer_within_a_block(w3, world, cached):
    client, rpc = cached
    await client.post("/bootAuth/app", json=app_request(world.app))
    other = await client.post("/bootAuth/kms", json=kms_request())
    assert other.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    assert rpc.methods()[-1] == ["eth_blockNumber", "eth_call"]
    assert rpc.blocks()[-1] == [head(w3)]


async def test_cache_never_serves_an_answer_from_before_a_new_block(w3, world, cached):
    client, rpc = cached
    body = app_request(world.app, composeHash="0x" + "ee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["reason"] == "Compose hash not allowed"
    world.add_compose_hash(b"\xee" * 32)
    after = await client.post("/bootAuth/app", json=body)
    assert after.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    # The repeat found the head moved, so it read both answers again at the new head.
    assert rpc.methods()[-2:] == [["eth_blockNumber"], ["eth_call", "eth_call"]]
    assert rpc.blocks()[-1] == [head(w3)] * 2


async def test_cache_follows_the_chain_backwards(w3, world, cached):
    client, _ = cached
    body = app_request(world.app, composeHash="0x" + "ee" * 32)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    world.add_compose_hash(b"\xee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True
    w3.provider.make_request("evm_revert", [snapshot])
    assert (await client.post("/bootAuth/app", json=body)).json()["reason"] == "Compose hash not allowed"


async def test_cache_sees_a_gateway_change(world, cached):
    client, _ = cached
    assert (await client.get("/")).json()["gatewayAppId"] == GATEWAY_APP_ID
    await client.post("/bootAuth/kms", json=kms_request())
    world.kms_tx("setGatewayAppId", "gateway-v2")
    assert (await client.post("/bootAuth/kms", json=kms_request())).json()["gatewayAppId"] == "gateway-v2"
