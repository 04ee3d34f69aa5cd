"""Bad request bodies get 400 and the fixed body, on both endpoints, and never reach the RPC node."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authapi import Settings
from tests.authapi.bodies import valid_body
from tests.authapi.conftest import webhook_client
from tests.authapi.transports import ALLOWED, GATEWAY, canned, results

pytestmark = pytest.mark.asyncio

INVALID = {"isAllowed": False, "reason": "invalid authorization request", "gatewayAppId": ""}
ENDPOINTS = ["/bootAuth/app", "/bootAuth/kms"]
HEX32 = ["mrAggregated", "osImageHash", "composeHash", "deviceId"]
HEX20 = ["appId", "instanceId"]
SETTINGS = Settings(rpc_url="http://127.0.0.1:9", kms_address="0x" + "11" * 20)  # type: ignore[arg-type]


def without(field: str) -> dict[str, Any]:
    body = valid_body()
    del body[field]
    return body


BAD_BODIES: dict[str, dict[str, Any]] = {
    **{f"{f}-missing": without(f) for f in HEX32 + HEX20},
    **{f"{f}-null": valid_body(**{f: None}) for f in HEX32 + HEX20},
    **{f"{f}-number": valid_body(**{f: 12}) for f in [*HEX32, *HEX20, "mrSystem"]},
    **{f"{f}-list": valid_body(**{f: ["0x01"]}) for f in [*HEX32, *HEX20, "mrSystem"]},
    **{f"{f}-not-hex": valid_body(**{f: "0xzz"}) for f in [*HEX32, *HEX20, "mrSystem"]},
    **{f"{f}-space": valid_body(**{f: "0x01 02"}) for f in [*HEX32, *HEX20, "mrSystem"]},
    **{f"{f}-33-bytes": valid_body(**{f: "0x" + "ab" * 33}) for f in [*HEX32, "mrSystem"]},
    **{f"{f}-65-nibbles": valid_body(**{f: "1" + "ab" * 32}) for f in [*HEX32, "mrSystem"]},
    **{f"{f}-21-bytes": valid_body(**{f: "0x" + "ab" * 21}) for f in HEX20},
    **{f"{f}-bool": valid_body(**{f: True}) for f in HEX20},
    "tcbStatus-number": valid_body(tcbStatus=1),
    "tcbStatus-list": valid_body(tcbStatus=["UpToDate"]),
    "tcbStatus-129-chars": valid_body(tcbStatus="x" * 129),
    "advisoryIds-string": valid_body(advisoryIds="INTEL-SA-00828"),
    "advisoryIds-object": valid_body(advisoryIds={"id": "x"}),
    "advisoryIds-129-items": valid_body(advisoryIds=["a"] * 129),
    "advisoryIds-257-chars": valid_body(advisoryIds=["a" * 257]),
    "advisoryIds-number-item": valid_body(advisoryIds=[1]),
    "advisoryIds-null-item": valid_body(advisoryIds=[None]),
}

BAD_RAW: dict[str, tuple[bytes, dict[str, str]]] = {
    "not-json": (b"appId=0x01", {"content-type": "application/json"}),
    "truncated-json": (json.dumps(valid_body()).encode()[:-1], {"content-type": "application/json"}),
    "json-array": (b"[]", {"content-type": "application/json"}),
    "json-string": (b'"hello"', {"content-type": "application/json"}),
    "json-null": (b"null", {"content-type": "application/json"}),
    "empty": (b"", {"content-type": "application/json"}),
    "invalid-utf8": (b'{"appId": "\xff"}', {"content-type": "application/json"}),
    "text-plain": (json.dumps(valid_body()).encode(), {"content-type": "text/plain"}),
    "form": (json.dumps(valid_body()).encode(), {"content-type": "application/x-www-form-urlencoded"}),
    "oversized": (
        json.dumps(valid_body(padding="x" * 70_000)).encode(),
        {"content-type": "application/json"},
    ),
}


@pytest.fixture
async def client_and_traffic():
    transport, seen = canned(results(ALLOWED, GATEWAY))
    async with webhook_client(SETTINGS, rpc_transport=transport) as client:
        yield client, seen


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_invalid_field_is_refused_before_any_rpc(client_and_traffic, endpoint, body):
    client, seen = client_and_traffic
    response = await client.post(endpoint, json=body)
    assert response.status_code == 400
    assert response.json() == INVALID
    assert seen == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("content", "headers"), BAD_RAW.values(), ids=BAD_RAW.keys())
async def test_malformed_body_is_refused_before_any_rpc(client_and_traffic, endpoint, content, headers):
    client, seen = client_and_traffic
    response = await client.post(endpoint, content=content, headers=headers)
    assert response.status_code == 400
    assert response.content == (b'{"isAllowed":false,"reason":"invalid authorization request","gatewayAppId":""}')
    assert seen == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_oversized_streamed_body_without_length_is_refused(client_and_traffic, endpoint):
    client, seen = client_and_traffic

    async def chunks():
        for _ in range(100):
            yield b" " * 1024

    response = await client.post(endpoint, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == INVALID
    assert seen == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        valid_body(),
        {k: v for k, v in valid_body().items() if k not in ("tcbStatus", "advisoryIds", "mrSystem")},
        valid_body(tcbStatus=None, advisoryIds=None, mrSystem=None),
        valid_body(tcbStatus="x" * 128, advisoryIds=["a" * 256] * 128),
        valid_body(appId="", instanceId="0x", composeHash="ab", mrSystem=""),
        valid_body(teeVariant="DstackTdx", keyProviderInfo={"kind": "kms"}),
    ],
    ids=["full", "optional-absent", "optional-null", "at-the-limits", "short-hex", "unknown-fields"],
)
async def test_valid_body_reaches_the_contract(client_and_traffic, endpoint, body):
    client, seen = client_and_traffic
    response = await client.post(endpoint, json=body)
    assert response.status_code == 200
    assert response.json() == {"isAllowed": True, "reason": "", "gatewayAppId": "gw-from-mock"}
    assert [[c["method"] for c in batch] for batch in seen] == [["eth_call", "eth_call"]]


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "application/problem+json"])
async def test_json_content_types_are_accepted(client_and_traffic, content_type):
    client, _ = client_and_traffic
    headers = {} if content_type is None else {"content-type": content_type}
    response = await client.post("/bootAuth/app", content=json.dumps(valid_body()).encode(), headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/bootAuth/app"), ("POST", "/"), ("POST", "/bootAuth")])
async def test_wrong_method_or_path_is_a_plain_client_error(client_and_traffic, method, path):
    client, seen = client_and_traffic
    response = await client.request(method, path)
    assert response.status_code in (404, 405)
    assert "Traceback" not in response.text
    assert seen == []
