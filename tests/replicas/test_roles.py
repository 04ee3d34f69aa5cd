"""Two replicas on one PostgreSQL: /readyz names each one's role and /metrics' leader gauge is 1 on one only."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.helpers.prometheus import scraped
from tests.helpers.replicas import replica_config, start_replica, stop_all, wait_for_leader


async def roles(replicas, within: float = 30.0) -> dict[int, tuple[str, float]]:
    """Return each replica's (role, leader gauge) once exactly one of them says it leads."""
    deadline = time.monotonic() + within
    while True:
        found = {}
        async with httpx.AsyncClient(timeout=10) as client:
            for replica in replicas:
                role = (await client.get(replica.http + "/readyz")).json()["role"]
                samples = scraped((await client.get(replica.http + "/metrics")).text)
                found[replica.pid] = (role, samples["dstack_gov_leader", frozenset({("role", role)})])
        if sorted(role for role, _ in found.values()) == ["follower", "leader"] or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


@pytest.mark.postgres
async def test_the_leader_and_the_follower_say_which_they_are(anvil, gov, telegram, tmp_path, pg_url):
    config = replica_config(gov, anvil.url, telegram, tmp_path, pg_url)
    replicas = []
    try:
        for name in ("a", "b"):
            replicas.append(await start_replica(config, telegram.token, tmp_path / f"{name}.log"))
        leader = await wait_for_leader(pg_url, replicas)
        found = await roles(replicas)
        follower = next(r for r in replicas if r is not leader)
        assert found[leader.pid] == ("leader", 1)
        assert found[follower.pid] == ("follower", 0)
    finally:
        await stop_all(replicas)
