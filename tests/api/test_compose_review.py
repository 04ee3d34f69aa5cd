"""Compose review over HTTP: a proposal body may embed the app-compose.json, and the view reviews it."""

from __future__ import annotations

from tests.api.conftest import AUTH
from tests.helpers.composes import UNPINNED_SERVICES, app_compose, canonical, pretty, sha256_hex


def _body(app: str, compose: object, **values: str) -> dict[str, object]:
    return {"title": "Release 2.4", "actions": [{"action": "app add-hash", "app": app, "compose": compose, **values}]}


async def test_a_proposal_with_an_inline_compose_is_reviewed_in_the_view(api, gov):
    document = app_compose(UNPINNED_SERVICES)
    filed = await api.post("/api/proposals", json=_body(gov.app_address, document), headers=AUTH)
    assert filed.status_code == 201, filed.text
    view = (await api.get(f"/api/proposals/{filed.json()['id']}")).json()
    assert view["actions"][0]["values"]["composeHash"] == sha256_hex(canonical(document))
    (review,) = view["composes"]
    assert review["verified"] and review["risk"] == "high" and view["calls"][0]["risk"] == "high"
    assert [s["pinned"] for s in review["services"]] == [True, False]
    assert any("the hash does not pin this code" in w for w in view["warnings"])


async def test_a_stated_hash_the_compose_does_not_back_gets_400_and_nothing_is_filed(api, gov):
    text = pretty(app_compose()).decode()
    refused = await api.post("/api/proposals", json=_body(gov.app_address, text, composeHash="0x" + "ab" * 32),
                             headers=AUTH)  # fmt: skip
    assert refused.status_code == 400
    assert "matches neither the file's sha256" in refused.json()["error"]
    assert (await api.get("/api/proposals")).json() == []
