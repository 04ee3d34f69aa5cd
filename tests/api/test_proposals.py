"""Proposing over HTTP: the token, the view, listing, typed data and bad input."""

from __future__ import annotations

import pytest

from dstack_gov.api import WRITES_DISABLED, create_api
from tests.api.conftest import AUTH, COMPOSE, IMAGE, batch_body, propose


async def test_propose_batch_returns_the_decoded_view(api, gov):
    view = await propose(api, gov, proposer="alice")
    assert (view["state"], view["kind"], view["proposer"], view["nonce"]) == ("pending", "change", "alice", 0)
    assert view["safe"] == gov.safe
    assert [c["action"] for c in view["calls"]] == ["kms-add-image", "app-add-hash"]
    assert IMAGE in view["calls"][0]["description"] and COMPOSE in view["calls"][1]["description"]
    assert view["calls"][1]["to"] == gov.app_address
    assert (view["confirmations"], view["threshold"]) == (0, 2)
    assert view["missingOwners"] == [o.address for o in gov.owners]
    assert view["hashes"]["safeTxHash"] == view["safeTxHash"]
    again = await api.get(f"/api/proposals/{view['id']}")
    assert again.status_code == 200 and again.json()["missingOwners"] == view["missingOwners"]


async def test_propose_needs_the_token(api, gov):
    missing = await api.post("/api/proposals", json=batch_body(gov))
    wrong = await api.post("/api/proposals", json=batch_body(gov), headers={"Authorization": "Bearer nope"})
    basic = await api.post("/api/proposals", json=batch_body(gov), headers={"Authorization": f"Basic {AUTH}"})
    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == {"error": "invalid token"}
    assert (await api.get("/api/proposals")).json() == []


async def test_writes_are_disabled_without_a_configured_token(gov):
    import httpx

    app = create_api(gov.svc, token="")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as client:
        refused = await client.post("/api/proposals", json=batch_body(gov), headers=AUTH)
        reconcile = await client.post("/api/reconcile", headers=AUTH)
        catalogue = await client.get("/api/catalogue")
    assert (refused.status_code, refused.json()) == (403, {"error": WRITES_DISABLED})
    assert reconcile.status_code == 403
    assert catalogue.status_code == 200


async def test_list_filters_by_state_and_limits(api, gov):
    first = await propose(api, gov)
    cancelled = await api.post(f"/api/proposals/{first['id']}/cancel", headers=AUTH)
    assert cancelled.json()["proposal"]["state"] == "cancelled"
    # The same change at the same nonce would have the same safeTxHash as the withdrawn one.
    second = await propose(api, gov, title="Second try", image="0x" + "33" * 32)
    everything = (await api.get("/api/proposals")).json()
    pending = (await api.get("/api/proposals", params={"state": "pending"})).json()
    both = (await api.get("/api/proposals", params=[("state", "pending"), ("state", "cancelled")])).json()
    assert [p["id"] for p in everything] == [second["id"], first["id"]]
    assert [p["id"] for p in pending] == [second["id"]]
    assert len(both) == 2
    assert len((await api.get("/api/proposals", params={"limit": 1})).json()) == 1
    assert "calls" not in everything[0]  # the list is cheap: no chain reads per proposal


async def test_typed_data_is_the_eip712_safe_tx(api, gov):
    view = await propose(api, gov)
    typed = (await api.get(f"/api/proposals/{view['id']}/typed-data")).json()
    assert typed["primaryType"] == "SafeTx"
    assert typed["domain"]["verifyingContract"] == gov.safe
    assert int(typed["message"]["nonce"]) == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"description": "x", "actions": []}, "title: Field required"),
        ({"title": "t", "actions": [{"action": "kms add-imag", "osImageHash": IMAGE}]}, "did you mean kms-add-image"),
        ({"title": "t", "actions": [{"action": "kms add-image", "osImageHash": "0x12"}]}, "osImageHash: expected 32"),
        ({"title": "t", "actions": [{"action": "kms add-image", "osImageHash": IMAGE}], "colour": 1}, "colour:"),
        ({"title": "t", "actions": [{"action": "kms add-image", "osImageHash": IMAGE}], "nonce": -1}, "nonce:"),
    ],
)
async def test_bad_proposals_get_one_line(api, gov, body, error):
    response = await api.post("/api/proposals", json=body, headers=AUTH)
    assert response.status_code == 400
    message = response.json()["error"]
    assert error in message and "\n" not in message


async def test_nonces_queue_up_and_an_explicit_one_is_honoured(api, gov):
    first = await propose(api, gov)
    second = await propose(api, gov, image="0x" + "33" * 32)
    # An explicit nonce may compete with an open proposal (a replacement): whichever executes first wins.
    replacement = await propose(api, gov, image="0x" + "44" * 32, nonce=1)
    assert (first["nonce"], second["nonce"], replacement["nonce"]) == (0, 1, 1)


async def test_unknown_and_malformed_ids(api, gov):
    missing = await api.get("/api/proposals/999")
    assert (missing.status_code, missing.json()) == (404, {"error": "no proposal #999"})
    assert (await api.get("/api/proposals/999/typed-data")).status_code == 404
    bad = await api.get("/api/proposals/abc")
    assert bad.status_code == 400 and bad.json()["error"].startswith("proposal_id:")
    nowhere = await api.get("/api/nothing-here")
    assert (nowhere.status_code, nowhere.json()) == (404, {"error": "Not Found"})
