"""Numbers past what the database holds, and a database that is locked or broken: 4xx/503, never 500."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from dstack_gov.api import create_api
from proposals.store import open_store
from tests.api.conftest import AUTH, TOKEN, batch_body, propose

HUGE_IDS = [str(2**63), str(2**64), "99999999999999999999999", "0", "-1"]
# A write refused for a locked database answers well before SQLite's 30 s busy wait would end.
BOUND = 20


@pytest.mark.parametrize("proposal_id", HUGE_IDS)
async def test_ids_out_of_range_are_refused_with_a_reason(api, gov, proposal_id):
    reads = [await api.get(f"/api/proposals/{proposal_id}"), await api.get(f"/api/proposals/{proposal_id}/typed-data")]
    writes = [
        await api.post(f"/api/proposals/{proposal_id}/signatures", json={"signature": "0x" + "00" * 65}),
        await api.post(f"/api/proposals/{proposal_id}/execute", headers=AUTH),
        await api.post(f"/api/proposals/{proposal_id}/cancel", headers=AUTH),
    ]
    audit = await api.get("/api/audit", params={"proposal": proposal_id}, headers=AUTH)
    for response in [*reads, *writes]:
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith("proposal_id:")
    assert audit.status_code == 400 and audit.json()["error"].startswith("proposal:")


async def test_the_largest_id_is_simply_not_found(api, gov):
    largest = 2**63 - 1
    response = await api.get(f"/api/proposals/{largest}")
    assert (response.status_code, response.json()) == (404, {"error": f"no proposal #{largest}"})
    audit = await api.get("/api/audit", params={"proposal": largest}, headers=AUTH)
    assert audit.status_code == 404


@pytest.mark.parametrize(
    ("nonce", "force", "error"),
    [
        (2**64, False, "can never execute"),
        (2**64, True, "can never execute"),
        (2**256 - 1, True, "can never execute"),
        (2**256, True, "nonce: Input should be less than or equal to"),
        (101, False, "101 ahead of the Safe (at nonce 0)"),
        (2**63 - 1, False, "at most 100 ahead unless forced"),
    ],
)
async def test_nonces_that_cannot_execute_are_refused(api, gov, nonce, force, error):
    response = await api.post("/api/proposals", json=batch_body(gov, nonce=nonce, force=force), headers=AUTH)
    assert response.status_code == 400, response.text
    assert error in response.json()["error"]
    assert (await api.get("/api/proposals")).json() == []


async def test_a_nonce_beyond_the_window_is_filed_when_forced(api, gov):
    at_edge = await propose(api, gov, nonce=100)
    forced = await propose(api, gov, image="0x" + "33" * 32, nonce=101, force=True)
    assert (at_edge["nonce"], forced["nonce"]) == (100, 101)


async def test_a_write_while_another_process_locks_the_database_is_503_with_retry_after(api, gov):
    path = gov.db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        async with asyncio.timeout(BOUND):
            refused = await api.post("/api/proposals", json=batch_body(gov), headers=AUTH)
        # Reads still work meanwhile (WAL): only writers wait for the lock.
        assert (await api.get("/api/proposals")).status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["retry-after"]) > 0
    message = refused.json()["error"]
    assert f"the database {path} is busy" in message and "\n" not in message
    # Once the other process lets go, the same write goes through.
    assert (await propose(api, gov))["id"] == 1


async def test_a_corrupt_database_is_503_naming_it(gov, tmp_path: Path):
    path = tmp_path / "broken.sqlite"
    store = open_store(f"sqlite:///{path}")
    app = create_api(gov.service(store=store), token=TOKEN)
    store.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(b"this is no database \x00\xff" * 512)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=60) as client:
        responses = [
            await client.get("/api/proposals"),
            await client.get("/api/proposals/1"),
            await client.post("/api/proposals", json=batch_body(gov), headers=AUTH),
            await client.get("/metrics"),
        ]
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.json()["error"] == f"the database {path} cannot be used: file is not a database"
