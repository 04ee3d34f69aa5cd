"""What keeps the webhook's tail short: a frozen startup heap (the lean RPC pool is tested in test_http1.py)."""

from __future__ import annotations

import gc

import pytest

from authapi import Settings, create_app

pytestmark = pytest.mark.asyncio

KMS = "0x" + "11" * 20


async def test_the_startup_heap_is_frozen_while_the_app_runs():
    # Without the freeze, each full collection walks every object web3 & co. left behind: 50-80 ms
    # during which no request moves, the p99 at concurrency 64.
    app = create_app(Settings(rpc_url="http://127.0.0.1:9", kms_address=KMS))  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0
    async with app.lifespan():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # a test process (or any host) gets its collector back
