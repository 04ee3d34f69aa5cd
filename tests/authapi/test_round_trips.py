"""One RPC round trip per request, and a block cache that answers repeats without one and follows the head."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.authapi.conftest import cached_client, recorded_client
from tests.authapi.transports import RecordingTransport
from tests.authapi.world import GATEWAY_APP_ID, app_request, kms_request

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def uncached(anvil, world):
    async with recorded_client(anvil, world, block_cache=False) as pair:
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


# Long enough that, on a loaded machine too, the head stays usable between two polls of a test.
PATIENT_POLL = 2.0


@pytest.fixture
async def cached(anvil, world):
    rpc = RecordingTransport()
    async with cached_client(anvil.url, world.kms.kms_address, PATIENT_POLL, rpc) as (client, follower):
        await follower.wait_past(None)
        yield client, rpc, follower


async def test_cache_answers_repeats_without_any_rpc_call(w3, world, cached):
    client, rpc, follower = cached
    at = head(w3)
    answers = [await client.post("/bootAuth/app", json=app_request(world.app)) for _ in range(5)]
    allowed = b'{"isAllowed":true,"reason":"","gatewayAppId":"%s"}' % GATEWAY_APP_ID.encode()
    assert {a.content for a in answers} == {allowed}
    # The first request read both answers at the polled head; the four repeats asked nothing, not even
    # the head: every eth_blockNumber came from the poller.
    assert rpc.calls() == [["eth_call", "eth_call"]]
    assert rpc.blocks() == [[at, at]]
    assert sum(method == "eth_blockNumber" for batch in rpc.methods() for method in batch) <= follower.polls


async def test_cache_shares_the_gateway_answer_within_a_block(w3, world, cached):
    client, rpc, _ = cached
    await client.post("/bootAuth/app", json=app_request(world.app))
    other = await client.post("/bootAuth/kms", json=kms_request())
    assert other.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    assert rpc.calls()[-1] == ["eth_call"]
    assert rpc.blocks()[-1] == [head(w3)]


async def test_a_new_block_empties_the_cache_and_the_next_answer_sees_the_change(w3, world, cached):
    client, rpc, follower = cached
    body = app_request(world.app, composeHash="0x" + "ee" * 32)
    for _ in range(2):
        assert (await client.post("/bootAuth/app", json=body)).json()["reason"] == "Compose hash not allowed"
    before = follower.cache.block
    world.add_compose_hash(b"\xee" * 32)  # anvil mines a block
    assert await asyncio.wait_for(follower.wait_past(before), timeout=30) == w3.eth.block_number
    assert len(follower.cache) == 0
    after = await client.post("/bootAuth/app", json=body)
    assert after.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    assert rpc.calls() == [["eth_call", "eth_call"]] * 2
    assert rpc.blocks()[-1] == [head(w3)] * 2


async def test_cache_follows_the_chain_backwards(w3, world, cached):
    client, _, follower = cached
    body = app_request(world.app, composeHash="0x" + "ee" * 32)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    before = follower.cache.block
    world.add_compose_hash(b"\xee" * 32)
    await asyncio.wait_for(follower.wait_past(before), timeout=30)
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True
    at = follower.cache.block
    w3.provider.make_request("evm_revert", [snapshot])
    await asyncio.wait_for(follower.wait_past(at), timeout=30)
    assert (await client.post("/bootAuth/app", json=body)).json()["reason"] == "Compose hash not allowed"


async def test_cache_sees_a_gateway_change(world, cached):
    client, _, follower = cached
    assert (await client.get("/")).json()["gatewayAppId"] == GATEWAY_APP_ID
    await client.post("/bootAuth/kms", json=kms_request())
    at = follower.cache.block
    world.kms_tx("setGatewayAppId", "gateway-v2")
    await asyncio.wait_for(follower.wait_past(at), timeout=30)
    assert (await client.post("/bootAuth/kms", json=kms_request())).json()["gatewayAppId"] == "gateway-v2"


async def test_a_cached_repeat_is_found_by_its_raw_body_and_only_after_it_passed_validation(world, cached):
    client, *_ = cached
    raw = json.dumps(app_request(world.app)).encode()
    reader = client._transport.app.state.webhook.reader  # type: ignore[attr-defined]
    assert reader.cached_verdict(False, raw) is None
    first = await client.post("/bootAuth/app", content=raw, headers={"content-type": "application/json"})
    hit = reader.cached_verdict(False, raw)
    assert hit is not None and hit.is_allowed is True
    assert reader.cached_verdict(True, raw) is None  # the kms route never shares the app route's answers
    repeat = await client.post("/bootAuth/app", content=raw, headers={"content-type": "application/json"})
    assert repeat.content == first.content
    # A body refused by validation is never stored, so its repeat is refused again, byte for byte.
    bad = b'{"appId":"0xzz"}'
    for _ in range(2):
        refused = await client.post("/bootAuth/app", content=bad, headers={"content-type": "application/json"})
        assert refused.status_code == 400
        assert reader.cached_verdict(False, bad) is None
