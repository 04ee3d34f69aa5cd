"""The OpenAPI schema describes every route, and real answers match their documented models exactly."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hexbytes import HexBytes
from pydantic import TypeAdapter, ValidationError

from dstack_gov.api import create_api
from dstack_gov.api.app import ROUTERS, routed_app
from dstack_gov.api.responses import (
    AuditEntryBody,
    Cancelled,
    CatalogueAction,
    ComposeUnverified,
    ComposeVerified,
    ErrorBody,
    Executed,
    ExecutionBody,
    Healthy,
    ProposalDetail,
    ProposalSummary,
    Readiness,
    ReconcileBody,
    SignatureAccepted,
    TypedData,
)
from proposals.reconcile import ReconcileReport
from tests.api.conftest import AUTH, TOKEN, propose, sign
from tests.api.test_operations import client_for
from tests.helpers.composes import UNPINNED_SERVICES, app_compose

# Served beside the API but kept out of its reference: the signing page, its script and stylesheet, and its
# Telegram Mini App calls (dstack_gov/api/page.py, linking.py).
UNDOCUMENTED_PREFIXES = ("/sign", "/static/", "/api/telegram/")
ERROR_REF = "#/components/schemas/ErrorBody"


def _routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def _conforms(model: Any, body: Any) -> None:
    """Validate `body` against `model`: every documented field present, nothing undocumented."""
    TypeAdapter(model).validate_python(body)


def test_every_route_is_documented_with_a_response_model():
    schema = routed_app().openapi()
    documented = {(method.lower(), path) for path, item in schema["paths"].items() for method in item}
    for route in _routes():
        if not route.include_in_schema:
            assert route.path.startswith(UNDOCUMENTED_PREFIXES), route.path
            continue
        assert route.response_model is not None, route.path
        for method in route.methods:
            assert (method.lower(), route.path) in documented
            operation = schema["paths"][route.path][method.lower()]
            successes = [s for s in operation["responses"] if s.startswith("2")]
            assert successes == [str(route.status_code or 200)], route.path
            assert operation["responses"][successes[0]]["content"], route.path
    assert documented == {(m.lower(), r.path) for r in _routes() if r.include_in_schema for m in r.methods}


def test_errors_are_documented_with_the_one_error_shape():
    schema = routed_app().openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # validation answers 400, not 422
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
            assert "500" in errors, (method, path)
            if operation.get("security"):
                assert {"401", "403"} <= set(errors), (method, path)
            if "requestBody" in operation:
                assert {"400", "408", "413"} <= set(errors), (method, path)
            for status, response in errors.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == ERROR_REF or (path, status) == ("/readyz", "503"), (method, path, status)
    writes = {(m, p) for p, item in schema["paths"].items() for m, op in item.items() if op.get("security")}
    assert writes == {
        ("post", "/api/proposals"), ("post", "/api/proposals/{proposal_id}/execute"),
        ("post", "/api/proposals/{proposal_id}/cancel"), ("post", "/api/reconcile"), ("get", "/api/audit"),
    }  # fmt: skip


async def test_the_served_schema_is_the_documented_one(api):
    response = await api.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == routed_app().openapi()


def test_the_reconcile_model_has_every_report_field():
    assert set(ReconcileBody.model_fields) == {f.name for f in dataclasses.fields(ReconcileReport)}


def test_a_model_refuses_a_missing_or_an_unknown_field():
    body = {"txHash": "0x" + "ab" * 32, "blockNumber": 2, "gasUsed": 3, "confirming": False}
    _conforms(ExecutionBody, body)
    with pytest.raises(ValidationError):
        _conforms(ExecutionBody, {**body, "extra": 1})
    with pytest.raises(ValidationError):
        _conforms(ExecutionBody, {"txHash": "0x" + "ab" * 32, "blockNumber": 2, "gasUsed": 3})


async def test_answers_match_their_models(api, gov):
    view = await propose(api, gov)
    _conforms(ProposalDetail, view)
    pid = view["id"]
    _conforms(list[ProposalSummary], (await api.get("/api/proposals")).json())
    _conforms(TypedData, (await api.get(f"/api/proposals/{pid}/typed-data")).json())
    first = (await sign(api, pid, gov.owners[0])).json()
    _conforms(SignatureAccepted, first)
    assert first["executionError"] is None and first["proposal"]["signatures"][0]["note"] == ""
    executed = (await sign(api, pid, gov.owners[1])).json()
    _conforms(SignatureAccepted, executed)
    assert executed["proposal"]["execution"]["gasUsed"] > 0 and executed["proposal"]["planned"] is not None

    other = await propose(api, gov, image="0x" + "55" * 32, compose="0x" + "66" * 32)
    await sign(api, other["id"], gov.owners[0])
    cancelled = (await api.post(f"/api/proposals/{other['id']}/cancel", headers=AUTH)).json()
    _conforms(Cancelled, cancelled)
    assert cancelled["rejection"]["rejects"] == other["id"]
    withdrawn = (await api.post(f"/api/proposals/{cancelled['rejection']['id']}/cancel", headers=AUTH)).json()
    _conforms(Cancelled, withdrawn)
    assert withdrawn["rejection"] is None and withdrawn["proposal"]["state"] == "cancelled"

    _conforms(list[AuditEntryBody], (await api.get("/api/audit", headers=AUTH)).json())
    _conforms(list[CatalogueAction], (await api.get("/api/catalogue")).json())
    _conforms(Healthy, (await api.get("/healthz")).json())
    _conforms(Readiness, (await api.get("/readyz")).json())
    gov.approve_hash(gov.owners[2], bytes(HexBytes(other["safeTxHash"])))
    _conforms(ReconcileBody, (await api.post("/api/reconcile", headers=AUTH)).json())
    for response in (await api.get("/api/proposals/99"), await api.post("/api/reconcile")):
        _conforms(ErrorBody, response.json())


async def test_execute_answers_match_the_model(api, gov):
    view = await propose(api, gov)
    async with client_for(create_api(gov.service(with_executor=False, store=gov.store), token=TOKEN)) as keyless:
        await sign(keyless, view["id"], gov.owners[0])
        await sign(keyless, view["id"], gov.owners[1])
    response = await api.post(f"/api/proposals/{view['id']}/execute", headers=AUTH)
    assert response.status_code == 200
    _conforms(Executed, response.json())
    assert response.json()["proposal"]["state"] == "executed"


async def test_a_reviewed_compose_matches_the_verified_model(api, gov):
    document = app_compose(UNPINNED_SERVICES)
    action = {"action": "app add-hash", "app": gov.app_address, "compose": document}
    body = {"title": "Release 2.4", "actions": [action]}
    filed = await api.post("/api/proposals", json=body, headers=AUTH)
    assert filed.status_code == 201, filed.text
    view = (await api.get(f"/api/proposals/{filed.json()['id']}")).json()
    _conforms(ProposalDetail, view)
    (review,) = view["composes"]
    ComposeVerified.model_validate(review)
    with pytest.raises(ValidationError):
        ComposeUnverified.model_validate(review)
