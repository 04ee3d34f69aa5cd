"""An API request against a node that stops answering fails with 503 within one RPC timeout."""

from __future__ import annotations

import time

import httpx

from dstack_gov.api import create_api
from dstack_gov.config import load_config
from dstack_gov.wiring import build_service
from tests.api.conftest import TOKEN, propose
from tests.helpers.config_file import write_config
from tests.helpers.rpc_proxy import RpcProxy

TIMEOUT = 1.0
# web3 used to retry a timed-out request five times (about 6.9 s here); one attempt takes about 1 s.
BOUND = 4 * TIMEOUT


async def test_a_silent_node_fails_a_view_with_503_within_the_timeout(api, gov, anvil, tmp_path):
    proposal_id = (await propose(api, gov))["id"]
    with RpcProxy(anvil.url) as node:
        config = load_config(write_config(gov, node.url, tmp_path, executor=False))
        config = config.model_copy(update={"chain": config.chain.model_copy(update={"rpc_timeout": TIMEOUT})})
        service = build_service(config, with_executor=False)  # the node still answers at startup
        app = create_api(service, token=TOKEN)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
            assert (await client.get(f"/api/proposals/{proposal_id}")).status_code == 200
            node.silent.set()
            sent = len(node.targets)
            started = time.monotonic()
            response = await client.get(f"/api/proposals/{proposal_id}")
            elapsed = time.monotonic() - started
        service.store.close()
    assert response.status_code == 503, response.text
    assert "unreachable (no answer within the timeout)" in response.json()["error"]
    assert elapsed < BOUND, f"took {elapsed:.1f} s with rpc_timeout = {TIMEOUT:g}"
    assert len(node.targets) == sent + 1  # one attempt, no retries
