"""GET /metrics on the webhook: one duration sample per bootAuth answer, by route, in Prometheus's format."""

from __future__ import annotations

import pytest

from tests.authapi.world import app_request
from tests.helpers.prometheus import scraped

pytestmark = pytest.mark.asyncio


async def test_each_boot_answer_is_timed_by_route(world, client):
    for _ in range(3):
        assert (await client.post("/bootAuth/app", json=app_request(world.app))).status_code == 200
    assert (await client.post("/bootAuth/kms", content=b"not json")).status_code == 400  # refused ones count too
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = scraped(response.text)
    app, kms = frozenset({("route", "/bootAuth/app")}), frozenset({("route", "/bootAuth/kms")})
    assert samples["dstack_gov_webhook_request_seconds_count", app] == 3
    assert samples["dstack_gov_webhook_request_seconds_count", kms] == 1
    assert samples["dstack_gov_webhook_request_seconds_bucket", app | {("le", "+Inf")}] == 3
