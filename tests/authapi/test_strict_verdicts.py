"""A verdict is read only from the exact ABI encoding a contract returns: anything else fails closed."""

from __future__ import annotations

import pytest

from tests.authapi.bodies import valid_body
from tests.authapi.conftest import webhook_client
from tests.authapi.test_fail_closed import UNAVAILABLE, settings
from tests.authapi.transports import ALLOWED, GATEWAY, canned, hex_of, results

pytestmark = pytest.mark.asyncio

# (bool, string) with the string's offset pointing past an unused word: decodable, but not canonical.
SHIFTED = hex_of(["bool", "uint256", "uint256", "uint256"], [True, 0x60, 0, 0])
NOT_CANONICAL = {
    "verdict-trailing-word": results(ALLOWED + "00" * 32, GATEWAY),
    "verdict-trailing-byte": results(ALLOWED + "01", GATEWAY),
    "verdict-shifted-offset": results(SHIFTED, GATEWAY),
    "verdict-dirty-padding": results(ALLOWED[:-2] + "01", GATEWAY),
    "gateway-trailing-word": results(ALLOWED, GATEWAY + "00" * 32),
}


@pytest.mark.parametrize("endpoint", ["/bootAuth/app", "/bootAuth/kms"])
@pytest.mark.parametrize("answer", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
async def test_answer_that_is_not_the_canonical_encoding_fails_closed(endpoint, answer):
    transport, seen = canned(answer)
    async with webhook_client(settings(), rpc_transport=transport) as client:
        response = await client.post(endpoint, json=valid_body())
    assert (response.status_code, response.json()) == (200, UNAVAILABLE)
    assert len(seen) == 1


async def test_the_canonical_encoding_is_trusted():
    transport, _ = canned(results(ALLOWED, GATEWAY))
    async with webhook_client(settings(), rpc_transport=transport) as client:
        response = await client.post("/bootAuth/app", json=valid_body())
    assert response.json() == {"isAllowed": True, "reason": "", "gatewayAppId": "gw-from-mock"}
