"""POST /bootAuth/app: every rule of DstackKms.isAppAllowed and DstackApp.isAppAllowed, via the webhook."""

from __future__ import annotations

import pytest

from tests.authapi.world import GATEWAY_APP_ID, INSTANCE, app_request

pytestmark = pytest.mark.asyncio

UNREGISTERED = "0x" + "ab" * 20


async def test_allowed_app_gets_the_exact_answer_bytes(world, client):
    response = await client.post("/bootAuth/app", json=app_request(world.app))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == (b'{"isAllowed":true,"reason":"","gatewayAppId":"' + GATEWAY_APP_ID.encode() + b'"}')


@pytest.mark.parametrize(
    ("tweak", "reason"),
    [
        (lambda w: app_request(UNREGISTERED), "App not registered"),
        (lambda w: app_request(w.app, osImageHash="0x" + "0b" * 32), "OS image is not allowed"),
        (lambda w: app_request(w.eoa_app), "App not deployed or invalid address"),
        (lambda w: app_request(w.app, tcbStatus="OutOfDate"), "TCB status is not up to date"),
        (lambda w: app_request(w.app, tcbStatus=""), "TCB status is not up to date"),
        (lambda w: app_request(w.app, composeHash="0x" + "ee" * 32), "Compose hash not allowed"),
        (lambda w: app_request(w.app, deviceId="0x" + "ee" * 32), "Device not allowed"),
    ],
    ids=["unregistered", "os-image", "no-code", "tcb", "tcb-missing", "compose-hash", "device"],
)
async def test_each_rule_denies_with_its_reason(world, client, tweak, reason):
    response = await client.post("/bootAuth/app", json=tweak(world))
    assert response.status_code == 200
    assert response.json() == {"isAllowed": False, "reason": reason, "gatewayAppId": GATEWAY_APP_ID}


async def test_rules_apply_in_order_first_failure_wins(world, client):
    body = app_request(world.app, osImageHash="0x" + "0b" * 32, composeHash="0x" + "ee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["reason"] == "OS image is not allowed"


async def test_app_without_tcb_rule_allows_any_status_and_device(world, client):
    body = app_request(world.tcb_free_app, tcbStatus="OutOfDate", deviceId="0x" + "ee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True


async def test_short_and_unprefixed_hex_is_left_padded(world, client):
    body = {
        "appId": world.app.lower().removeprefix("0x"),
        "composeHash": "c0" * 31 + "de",
        "osImageHash": "0X" + "0A" * 32,
        "deviceId": "D1" * 32,
        "mrAggregated": "0x",
        "instanceId": "",
        "tcbStatus": "UpToDate",
    }
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True


@pytest.mark.parametrize("short", ["42", "0x42", "0x042", "0x" + "00" * 31 + "42"])
async def test_short_values_reach_the_contract_left_padded(world, client, short):
    world.add_compose_hash(bytes(31) + b"\x42")
    response = await client.post("/bootAuth/app", json=app_request(world.app, composeHash=short))
    assert response.json()["isAllowed"] is True


async def test_unknown_fields_from_the_kms_are_ignored(world, client):
    body = app_request(world.app, teeVariant="DstackTdx", keyProviderInfo="0x" + "77" * 32, extra={"a": [1]})
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True


async def test_custom_iappauth_contract_decides_for_itself(world, client):
    denied = await client.post("/bootAuth/app", json=app_request(world.custom_app))
    assert denied.json() == {
        "isAllowed": False,
        "reason": "Instance not on the allowlist",
        "gatewayAppId": GATEWAY_APP_ID,
    }
    world.allow_instance(INSTANCE)
    allowed = await client.post("/bootAuth/app", json=app_request(world.custom_app))
    assert allowed.json() == {"isAllowed": True, "reason": "", "gatewayAppId": GATEWAY_APP_ID}
    other = await client.post("/bootAuth/app", json=app_request(world.custom_app, instanceId="0x" + "2e" * 20))
    assert other.json()["reason"] == "Instance not on the allowlist"


async def test_policy_change_is_seen_by_the_next_request(world, client):
    body = app_request(world.app, composeHash="0x" + "ee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is False
    world.add_compose_hash(b"\xee" * 32)
    assert (await client.post("/bootAuth/app", json=body)).json()["isAllowed"] is True


async def test_gateway_app_id_follows_the_contract(world, client):
    world.kms_tx("setGatewayAppId", "new-gateway")
    response = await client.post("/bootAuth/app", json=app_request(UNREGISTERED))
    assert response.json() == {"isAllowed": False, "reason": "App not registered", "gatewayAppId": "new-gateway"}
