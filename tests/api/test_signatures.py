"""Signing over HTTP: no token, cryptographic checks, and execution on the threshold-meeting signature."""

from __future__ import annotations

import asyncio

import pytest
from hexbytes import HexBytes

from tests.api.conftest import AUTH, COMPOSE, IMAGE, batch_body, propose, sign, signature_for
from tests.helpers.chain import dev_account
from tests.helpers.prometheus import scraped


async def test_second_signature_executes_and_changes_the_chain(api, gov, w3):
    view = await propose(api, gov)
    pid = view["id"]
    first = await sign(api, pid, gov.owners[0])
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["confirmations"], body["threshold"], body["executionError"]) == (1, 2, None)
    assert body["proposal"]["state"] == "pending"
    assert body["proposal"]["missingOwners"] == [gov.owners[1].address, gov.owners[2].address]
    assert body["proposal"]["signatures"][0] == {
        "owner": gov.owners[0].address, "kind": "eip712", "source": "api", "valid": True, "note": "",
    }  # fmt: skip

    second = await sign(api, pid, gov.owners[1])
    assert second.status_code == 200, second.text
    done = second.json()
    assert (done["confirmations"], done["executionError"]) == (2, None)
    assert done["proposal"]["state"] == "executed"
    tx_hash = done["proposal"]["execution"]["txHash"]
    assert w3.eth.get_transaction_receipt(HexBytes(tx_hash))["status"] == 1
    assert gov.kms.functions.allowedOsImages(HexBytes(IMAGE)).call() is True
    assert gov.app.functions.allowedComposeHashes(HexBytes(COMPOSE)).call() is True
    assert (await api.get(f"/api/proposals/{pid}")).json()["state"] == "executed"

    late = await sign(api, pid, gov.owners[2])
    assert late.status_code == 409 and "executed" in late.json()["error"]


@pytest.mark.parametrize(
    ("signature", "error"),
    [
        ("0xzz", "malformed signature: not hex"),
        ("0x" + "ab" * 10, "malformed signature: expected 65 bytes"),
        ("0x" + "00" * 64 + "07", "malformed signature: unknown type v=7"),
    ],
)
async def test_malformed_signatures_are_refused(api, gov, signature, error):
    view = await propose(api, gov)
    response = await api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature})
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)


async def test_non_owner_signature_is_refused_with_the_reason(api, gov):
    view = await propose(api, gov)
    outsider = dev_account(5)
    signature = await signature_for(api, view["id"], outsider)
    response = await api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature})
    assert response.status_code == 400
    assert f"the signer {outsider.address} is not an owner of Safe {gov.safe}" in response.json()["error"]
    metrics = (await api.get("/metrics")).text
    assert scraped(metrics)["dstack_gov_signatures_total", frozenset({("result", "refused")})] == 1


async def test_duplicate_signature_is_a_conflict(api, gov):
    view = await propose(api, gov)
    assert (await sign(api, view["id"], gov.owners[0])).status_code == 200
    again = await sign(api, view["id"], gov.owners[0])
    assert again.status_code == 409
    assert again.json() == {"error": f"{gov.owners[0].address} already signed proposal #{view['id']}"}


async def test_unknown_proposal_is_not_found(api, gov):
    response = await api.post("/api/proposals/42/signatures", json={"signature": "0x" + "00" * 65})
    assert (response.status_code, response.json()) == (404, {"error": "no proposal #42"})


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{", "body: not valid JSON"),
        (b"[]", "body: Input should be a valid dictionary"),
        (b'{"sig": "0x00"}', "sig: Extra inputs are not permitted"),
        (b'{"signature": 65}', "signature: Input should be a valid string"),
        (b'{"signature": "", "owner": "0x1234"}', "owner: not an address"),
    ],
)
async def test_malformed_body_gets_one_line(api, gov, content, error):
    view = await propose(api, gov)
    response = await api.post(
        f"/api/proposals/{view['id']}/signatures", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith(error) and "\n" not in message


async def test_on_chain_approve_hash_is_registered_with_an_empty_signature(api, gov):
    view = await propose(api, gov)
    owner = gov.owners[2]
    body = {"signature": "", "owner": owner.address}
    early = await api.post(f"/api/proposals/{view['id']}/signatures", json=body)
    assert early.status_code == 400 and "has not called approveHash" in early.json()["error"]
    gov.approve_hash(owner, bytes(HexBytes(view["safeTxHash"])))
    response = await api.post(f"/api/proposals/{view['id']}/signatures", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["confirmations"] == 1
    assert response.json()["proposal"]["signatures"][0]["kind"] == "approved_hash"


async def test_signing_needs_no_token_but_accepts_one(api, gov):
    view = await propose(api, gov)
    signature = await signature_for(api, view["id"], gov.owners[0])
    response = await api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature}, headers=AUTH)
    assert response.status_code == 200


async def test_proposing_what_is_already_allowed_needs_force(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    await sign(api, view["id"], gov.owners[1])
    refused = await api.post("/api/proposals", json=batch_body(gov), headers=AUTH)
    assert refused.status_code == 409
    assert "already allowed (force it to propose anyway)" in refused.json()["error"]
    forced = await api.post("/api/proposals", json=batch_body(gov, force=True), headers=AUTH)
    assert forced.status_code == 201, forced.text


async def test_concurrent_signatures_execute_exactly_once(api, gov, w3):
    view = await propose(api, gov)
    signatures = [await signature_for(api, view["id"], owner) for owner in gov.owners]
    url = f"/api/proposals/{view['id']}/signatures"
    block_before = w3.eth.block_number
    responses = await asyncio.gather(*(api.post(url, json={"signature": s}) for s in signatures))
    assert sorted(r.status_code for r in responses) == [200, 200, 409]
    executed = [r.json()["proposal"] for r in responses if r.status_code == 200]
    assert [p["state"] for p in executed].count("executed") == 1
    entries = (await api.get("/api/audit", params={"proposal": view["id"]}, headers=AUTH)).json()
    assert [e["event"] for e in entries].count("state:executing->executed") == 1
    assert w3.eth.block_number == block_before + 1  # one execution transaction, nothing else
