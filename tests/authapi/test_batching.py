"""Concurrent requests share POSTs: each keeps its own answer and its own failures, and nothing hangs."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from authapi.batching import BatchingRpc
from authapi.jsonrpc import RpcError, eth_call
from authapi.rpc import RpcClient
from tests.authapi.conftest import recorded_client
from tests.authapi.transports import ALLOWED, GATEWAY
from tests.authapi.world import GATEWAY_APP_ID, app_request

pytestmark = pytest.mark.asyncio

KMS = "0x" + "11" * 20
GATEWAY_CALL = eth_call(KMS, "0x95f51931")
# So long that, on a slow machine too, the next POST waits for the previous one to come back.
PATIENT = 60.0


def node(seen: list[list[dict]], fail_data: str = "0xbad") -> httpx.MockTransport:
    """A node that answers ALLOWED, GATEWAY for gatewayAppId, and an error for calldata `fail_data`."""

    async def handle(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        seen.append(batch)
        await asyncio.sleep(0.01)  # as a real node does, let the requests that arrive meanwhile queue up
        out = []
        for call in batch:
            data = call["params"][0]["data"]
            if data == fail_data:
                out.append({"jsonrpc": "2.0", "id": call["id"], "error": {"code": 3, "message": "reverted"}})
            else:
                out.append({"jsonrpc": "2.0", "id": call["id"], "result": GATEWAY if data == "0x95f51931" else ALLOWED})
        return httpx.Response(200, json=out)

    return httpx.MockTransport(handle)


async def test_waiting_requests_share_one_post_and_identical_calls_are_asked_once():
    seen: list[list[dict]] = []
    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=node(seen)), post_spacing=PATIENT)
    calls = [[eth_call(KMS, f"0x0{i}"), GATEWAY_CALL] for i in range(5)]
    results = await asyncio.gather(*(rpc.batch(c) for c in calls))
    await rpc.aclose()
    assert results == [[ALLOWED, GATEWAY]] * 5
    # The first request left at once; the four that arrived meanwhile left together.
    assert [len(batch) for batch in seen] == [2, 5]
    assert sum(c["params"][0]["data"] == "0x95f51931" for c in seen[1]) == 1


async def test_an_error_for_one_request_does_not_fail_its_neighbours():
    seen: list[list[dict]] = []
    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=node(seen)), post_spacing=PATIENT)
    first, bad, good = await asyncio.gather(
        rpc.batch([eth_call(KMS, "0x01"), GATEWAY_CALL]),
        rpc.batch([eth_call(KMS, "0xbad"), GATEWAY_CALL]),
        rpc.batch([eth_call(KMS, "0x02"), GATEWAY_CALL]),
        return_exceptions=True,
    )
    await rpc.aclose()
    assert first == good == [ALLOWED, GATEWAY]
    assert isinstance(bad, RpcError) and "reverted" in bad.reason
    assert len(seen) == 2


async def test_a_dropped_keep_alive_connection_is_retried_once():
    attempts = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        ids = [c["id"] for c in json.loads(request.content)]
        return httpx.Response(200, json=[{"jsonrpc": "2.0", "id": i, "result": ALLOWED} for i in ids])

    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=httpx.MockTransport(flaky)))
    assert await rpc.batch([eth_call(KMS, "0x01")]) == [ALLOWED]
    await rpc.aclose()
    assert attempts == 2


async def test_a_connection_dropped_twice_fails_closed():
    def dropping(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=httpx.MockTransport(dropping)))
    with pytest.raises(RpcError, match="unreachable"):
        await rpc.batch([eth_call(KMS, "0x01")])
    await rpc.aclose()


async def test_batches_stay_under_the_provider_size_limit():
    seen: list[list[dict]] = []
    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=node(seen)), max_batch_calls=6)
    await asyncio.gather(*(rpc.batch([eth_call(KMS, f"0x{i:02x}"), GATEWAY_CALL]) for i in range(10)))
    await rpc.aclose()
    assert sum(len(b) for b in seen) == 10 + len(seen)
    assert max(len(b) for b in seen) <= 6


async def test_closing_fails_the_waiting_requests(silent_rpc):
    rpc = BatchingRpc(RpcClient(silent_rpc, timeout=5))
    pending = [asyncio.ensure_future(rpc.batch([eth_call(KMS, f"0x0{i}")])) for i in range(3)]
    await asyncio.sleep(0.05)
    await rpc.aclose()
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    assert all(isinstance(o, RpcError) and o.reason == "shutting down" for o in outcomes)
    with pytest.raises(RpcError, match="shutting down"):
        await rpc.batch([GATEWAY_CALL])


async def test_concurrent_webhook_requests_get_their_own_answers(anvil, world):
    async with recorded_client(anvil, world, block_cache=False) as (client, rpc):
        denied = app_request(world.app, composeHash="0x" + "ee" * 32)
        bodies = [denied if i % 3 == 0 else app_request(world.app) for i in range(24)]
        responses = await asyncio.gather(*(client.post("/bootAuth/app", json=b) for b in bodies))
    for i, response in enumerate(responses):
        expected = (False, "Compose hash not allowed") if i % 3 == 0 else (True, "")
        assert (response.json()["isAllowed"], response.json()["reason"]) == expected
        assert response.json()["gatewayAppId"] == GATEWAY_APP_ID
    assert len(rpc.batches) < len(bodies)
    for batch in rpc.batches:
        assert sum(c["params"][0]["data"] == "0x95f51931" for c in batch) == 1


async def test_a_lone_request_cancelled_mid_post_frees_its_slot():
    release = asyncio.Event()
    seen: list[list[dict]] = []
    answer = node(seen)

    async def first_hangs(request: httpx.Request) -> httpx.Response:
        if not seen:
            seen.append([])
            await release.wait()  # never set: this POST only ends by cancellation
        return await answer.handle_async_request(request)

    rpc = BatchingRpc(
        RpcClient("http://node.test", timeout=30, transport=httpx.MockTransport(first_hangs)), max_in_flight=1
    )
    lone = asyncio.ensure_future(rpc.batch([eth_call(KMS, "0x01"), GATEWAY_CALL]))
    await asyncio.sleep(0.05)
    lone.cancel()  # as the request's own deadline does
    with pytest.raises(asyncio.CancelledError):
        await lone
    async with asyncio.timeout(5):  # with the only slot leaked, this would queue forever
        assert await rpc.batch([eth_call(KMS, "0x02"), GATEWAY_CALL]) == [ALLOWED, GATEWAY]
    await rpc.aclose()


async def test_a_defect_under_a_lone_post_fails_it_closed_in_one_log_line(caplog):
    def broken(request: httpx.Request) -> httpx.Response:
        raise ValueError("a defect, with s3cret text")

    rpc = BatchingRpc(RpcClient("http://node.test", timeout=2, transport=httpx.MockTransport(broken)))
    with pytest.raises(RpcError, match="unexpected ValueError while asking the RPC node"):
        await rpc.batch([eth_call(KMS, "0x01")])
    await rpc.aclose()
    assert [r.getMessage() for r in caplog.records] == ["RPC batch failed unexpectedly (ValueError)"]
    assert "s3cret" not in caplog.text
