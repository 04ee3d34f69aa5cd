"""GET /: the KMS contract's status for the dstack KMS's health check."""

from __future__ import annotations

import pytest

from tests.authapi.world import GATEWAY_APP_ID, app_request

pytestmark = pytest.mark.asyncio


async def test_status_reports_the_contract_and_chain(anvil, world, client):
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "kmsContractAddr": world.kms.kms_address,
        "ethRpcUrl": anvil.url,
        "gatewayAppId": GATEWAY_APP_ID,
        "chainId": 1337,
        "appImplementation": world.kms.app_implementation,
        "appAuthImplementation": world.kms.app_implementation,
    }
    assert list(response.json()) == [
        "status", "kmsContractAddr", "ethRpcUrl", "gatewayAppId", "chainId",
        "appImplementation", "appAuthImplementation",
    ]  # fmt: skip


async def test_status_shows_scheme_and_host_only(anvil, world, client_for):
    secret_url = anvil.url.replace("http://", "http://user:s3cret@") + "/?apikey=s3cret"
    async with client_for(rpc_url=secret_url) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json()["ethRpcUrl"] == anvil.url
    assert "s3cret" not in response.text


async def test_status_follows_the_gateway_app_id(world, client):
    world.kms_tx("setGatewayAppId", "gateway-v2")
    assert (await client.get("/")).json()["gatewayAppId"] == "gateway-v2"


async def test_status_of_an_address_without_code_is_unhealthy(anvil, world, client_for):
    async with client_for(kms_address="0x" + "00" * 19 + "99") as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.json() == {"status": "error", "message": "authorization backend unavailable"}


async def test_boot_check_against_an_address_without_code_fails_closed(anvil, world, client_for):
    async with client_for(kms_address="0x" + "00" * 19 + "99") as client:
        response = await client.post("/bootAuth/app", json=app_request(world.app))
    assert response.json() == {
        "isAllowed": False,
        "reason": "authorization backend unavailable",
        "gatewayAppId": "",
    }
