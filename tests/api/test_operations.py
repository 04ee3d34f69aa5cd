"""Execute, cancel, reconcile, audit, health, metrics, the catalogue and the API's own guard rails."""

from __future__ import annotations

import csv
import io
import json

import httpx
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient

from dstack_gov.anvil import free_port
from dstack_gov.api import create_api
from proposals.catalogue import CATALOGUE
from proposals.service import GovernanceService
from tests.api.conftest import AUTH, IMAGE, TOKEN, propose, sign
from tests.helpers.prometheus import scraped


def client_for(app) -> httpx.AsyncClient:
    """Return an in-process client for another app instance."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test", timeout=60)


async def test_execute_runs_a_proposal_signed_while_no_executor_was_there(api, gov):
    view = await propose(api, gov)
    async with client_for(create_api(gov.service(with_executor=False, store=gov.store), token=TOKEN)) as keyless:
        await sign(keyless, view["id"], gov.owners[0])
        quorum = (await sign(keyless, view["id"], gov.owners[1])).json()
        assert quorum["proposal"]["state"] == "approved"
        refused = await keyless.post(f"/api/proposals/{view['id']}/execute", headers=AUTH)
        assert refused.status_code == 400
        assert refused.json()["error"] == "no executor key is configured ([executor] in the config)"
    assert (await api.post(f"/api/proposals/{view['id']}/execute")).status_code == 401
    response = await api.post(f"/api/proposals/{view['id']}/execute", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["proposal"]["state"] == "executed"
    assert gov.kms.functions.allowedOsImages(HexBytes(IMAGE)).call() is True


async def test_execute_below_threshold_is_a_conflict(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    response = await api.post(f"/api/proposals/{view['id']}/execute", headers=AUTH)
    assert response.status_code == 409
    assert response.json()["error"] == f"proposal #{view['id']} has 1 valid signature(s); the Safe needs 2"


async def test_cancel_withdraws_an_unsigned_proposal(api, gov):
    view = await propose(api, gov)
    assert (await api.post(f"/api/proposals/{view['id']}/cancel")).status_code == 401
    response = await api.post(f"/api/proposals/{view['id']}/cancel", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["proposal"]["state"] == "cancelled"
    assert response.json()["rejection"] is None
    again = await api.post(f"/api/proposals/{view['id']}/cancel", headers=AUTH)
    assert again.status_code == 409


async def test_cancel_of_a_signed_proposal_proposes_a_rejection_that_owners_sign(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    response = await api.post(f"/api/proposals/{view['id']}/cancel", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    rejection = body["rejection"]
    assert body["proposal"]["state"] == "pending"
    assert (rejection["kind"], rejection["rejects"], rejection["nonce"]) == ("rejection", view["id"], view["nonce"])
    await sign(api, rejection["id"], gov.owners[1])
    executed = (await sign(api, rejection["id"], gov.owners[2])).json()
    assert executed["proposal"]["state"] == "executed"
    assert (await api.get(f"/api/proposals/{view['id']}")).json()["state"] == "cancelled"


async def test_audit_exports_json_and_csv(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    assert (await api.get("/api/audit")).status_code == 401
    entries = (await api.get("/api/audit", params={"proposal": view["id"]}, headers=AUTH)).json()
    assert [e["event"] for e in entries] == ["created", "planned", "signature"]
    assert entries[2]["detail"]["owner"] == gov.owners[0].address
    assert {e["proposal_id"] for e in entries} == {view["id"]}
    response = await api.get("/api/audit", params={"proposal": view["id"], "format": "csv"}, headers=AUTH)
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit-' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["event"] for r in rows] == ["created", "planned", "signature"]
    assert json.loads(rows[0]["detail"])["title"] == view["title"]
    everything = (await api.get("/api/audit", headers=AUTH)).json()
    assert len(everything) >= 3
    missing = await api.get("/api/audit", params={"proposal": 99}, headers=AUTH)
    assert missing.status_code == 404
    bad = await api.get("/api/audit", params={"format": "xml"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"].startswith("format:")


async def test_reconcile_picks_up_an_on_chain_approval_and_executes(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    gov.approve_hash(gov.owners[2], bytes(HexBytes(view["safeTxHash"])))
    assert (await api.post("/api/reconcile")).status_code == 401
    response = await api.post("/api/reconcile", headers=AUTH)
    assert response.status_code == 200
    report = response.json()
    assert report["approvals"] == [[view["id"], gov.owners[2].address]]
    assert report["executed"] == [view["id"]]
    assert report["errors"] == []
    assert (await api.get(f"/api/proposals/{view['id']}")).json()["state"] == "executed"


async def test_readyz_reports_the_chain(api, w3):
    response = await api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["chainId"]) == ("ready", 1337)
    assert body["blockNumber"] <= w3.eth.block_number


async def test_readyz_is_503_when_the_rpc_is_down_and_healthz_stays_alive(api, gov):
    proposal = await propose(api, gov)
    dead = EthereumClient(f"http://127.0.0.1:{free_port()}", provider_timeout=2, slow_provider_timeout=2)
    service = GovernanceService(client=dead, store=gov.store, safes=[gov.safe], kms=gov.kms_address)
    async with client_for(create_api(service, token=TOKEN)) as client:
        response = await client.get("/readyz")
        alive = await client.get("/healthz")
        listed = await client.get("/api/proposals")
        view = await client.get(f"/api/proposals/{proposal['id']}")
    assert response.status_code == 503
    assert response.json()["rpc"] == {"ok": False, "detail": "no RPC endpoint answers"}
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert listed.status_code == 200  # the store still answers
    assert view.status_code == 503
    assert "unreachable" in view.json()["error"] and "127.0.0.1" not in view.json()["error"]


async def test_metrics_count_proposals_signatures_and_executions(api, gov):
    executed = await propose(api, gov)
    await sign(api, executed["id"], gov.owners[0])
    await sign(api, executed["id"], gov.owners[1])
    waiting = await propose(api, gov, image="0x" + "55" * 32, compose="0x" + "66" * 32)
    await sign(api, waiting["id"], gov.owners[2])
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = scraped(response.text)
    for name, labels, value in (
        ("dstack_gov_proposals", {"state": "pending"}, 1),
        ("dstack_gov_proposals", {"state": "executed"}, 1),
        ("dstack_gov_proposals", {"state": "cancelled"}, 0),
        ("dstack_gov_open_proposal_signatures", {}, 1),
        ("dstack_gov_proposals_created_total", {}, 2),
        ("dstack_gov_signatures_total", {"result": "accepted"}, 3),
        ("dstack_gov_executions_total", {"outcome": "executed"}, 1),
        ("dstack_gov_executions_total", {"outcome": "failed"}, 0),
    ):
        assert samples[name, frozenset(labels.items())] == value, (name, labels)
    assert "# TYPE dstack_gov_proposals gauge" in response.text.splitlines()


async def test_catalogue_lists_every_action(api):
    actions = (await api.get("/api/catalogue")).json()
    assert len(actions) == len(CATALOGUE)
    add_image = next(a for a in actions if a["name"] == "kms-add-image")
    assert add_image["cliPath"] == "kms add-image"
    assert add_image["group"] == "kms"
    assert add_image["function"].startswith("addOsImageHash(")
    assert add_image["risk"] in ("low", "medium", "high")
    assert add_image["params"] == [
        {"name": "osImageHash", "type": "bytes32", "optional": False, "help": add_image["params"][0]["help"]}
    ]
    assert add_image["summary"]


async def test_oversized_bodies_are_refused(api, gov):
    big = b'{"signature": "' + b"0" * (300 * 1024) + b'"}'
    declared = await api.post("/api/proposals/1/signatures", content=big, headers={"content-type": "application/json"})
    assert (declared.status_code, declared.json()) == (413, {"error": "request body larger than 256 KiB"})

    async def chunks():
        for _ in range(40):
            yield b"0" * 8192

    streamed = await api.post("/api/proposals/1/signatures", content=chunks())
    assert streamed.status_code == 413


async def test_wrong_method_is_405_in_the_error_shape(api):
    response = await api.get("/api/reconcile")
    assert (response.status_code, response.json()) == (405, {"error": "Method Not Allowed"})


async def test_openapi_schema_describes_the_endpoints(api):
    paths = (await api.get("/api/openapi.json")).json()["paths"]
    assert {"/api/proposals", "/api/proposals/{proposal_id}/signatures", "/healthz", "/metrics"} <= set(paths)


class BrokenStore:
    """A store whose database is gone in a way nobody planned for."""

    def list_proposals(self, **_kwargs):
        raise RuntimeError("database password=hunter2 rejected")

    def get(self, _proposal_id):
        raise RuntimeError("database password=hunter2 rejected")


async def test_unexpected_errors_are_a_generic_500(gov, caplog):
    service = GovernanceService(client=gov.client, store=BrokenStore(), safes=[gov.safe], kms=gov.kms_address)
    async with client_for(create_api(service, token=TOKEN)) as client:
        listed = await client.get("/api/proposals")
        viewed = await client.get("/api/proposals/1")
    for response in (listed, viewed):
        assert (response.status_code, response.json()) == (500, {"error": "internal error"})
        assert "hunter2" not in response.text
    assert "unexpected error in GET /api/proposals" in caplog.text
