"""POST /bootAuth/kms: every rule of DstackKms.isKmsAllowed, via the webhook."""

from __future__ import annotations

import pytest

from tests.authapi.world import GATEWAY_APP_ID, KMS_MR, kms_request

pytestmark = pytest.mark.asyncio


async def test_allowed_kms_gets_the_exact_answer_bytes(world, client):
    response = await client.post("/bootAuth/kms", json=kms_request())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == (b'{"isAllowed":true,"reason":"","gatewayAppId":"' + GATEWAY_APP_ID.encode() + b'"}')


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"tcbStatus": "OutOfDate"}, "TCB status is not up to date"),
        ({"tcbStatus": None}, "TCB status is not up to date"),
        ({"osImageHash": "0x" + "0b" * 32}, "OS image is not allowed"),
        ({"mrAggregated": "0x" + "ee" * 32}, "Aggregated MR not allowed"),
        ({"deviceId": "0x" + "ee" * 32}, "KMS is not allowed to boot on this device"),
        (
            {"tcbStatus": "OutOfDate", "osImageHash": "0x" + "0b" * 32, "deviceId": "0x"},
            "TCB status is not up to date",
        ),
        ({"mrAggregated": "0x" + "ee" * 32, "deviceId": "0x"}, "Aggregated MR not allowed"),
    ],
    ids=["tcb", "tcb-null", "os-image", "mr-aggregated", "device", "tcb-first", "mr-before-device"],
)
async def test_each_rule_denies_with_its_reason(world, client, overrides, reason):
    response = await client.post("/bootAuth/kms", json=kms_request(**overrides))
    assert response.status_code == 200
    assert response.json() == {"isAllowed": False, "reason": reason, "gatewayAppId": GATEWAY_APP_ID}


async def test_kms_check_ignores_app_fields(world, client):
    body = kms_request(appId="0x" + "ab" * 20, composeHash="0x", instanceId="0x" + "ff" * 20)
    assert (await client.post("/bootAuth/kms", json=body)).json()["isAllowed"] is True


async def test_short_hex_is_left_padded_for_the_kms_check(world, client):
    world.kms_tx("addKmsAggregatedMr", bytes(30) + b"\x0a\xbc")
    body = kms_request(mrAggregated="abc", advisoryIds=["INTEL-SA-00828", "INTEL-SA-00837"])
    assert (await client.post("/bootAuth/kms", json=body)).json()["isAllowed"] is True


async def test_removing_the_measurement_denies_the_next_request(world, client):
    assert (await client.post("/bootAuth/kms", json=kms_request())).json()["isAllowed"] is True
    world.kms_tx("removeKmsAggregatedMr", KMS_MR)
    assert (await client.post("/bootAuth/kms", json=kms_request())).json()["reason"] == "Aggregated MR not allowed"
