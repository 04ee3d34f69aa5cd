"""API fixtures: a 2-of-3 Safe owning a KMS and an app, the real service, and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from contracts import AppSettings, TransactionSender, deploy_app, deploy_kms
from contracts.deployment import deploy_implementation
from dstack_gov.api import create_api
from dstack_gov.safe_infra import create_safe
from proposals.catalogue import get_action
from proposals.store import open_store
from tests.helpers.chain import dev_account
from tests.helpers.governance import EXECUTOR_INDEX, Clock, Governance

TOKEN = "api-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IMAGE = "0x" + "11" * 32
COMPOSE = "0x" + "22" * 32


@dataclass(frozen=True)
class Deployed:
    """The contracts every API test starts from."""

    safe: ChecksumAddress
    kms: ChecksumAddress
    app: ChecksumAddress
    app_implementation: ChecksumAddress


@pytest.fixture(scope="session")
def deployed(w3, eth_client, safe_infra) -> Deployed:
    """Deploy once per session, before the first snapshot: a 2-of-3 Safe owning a KMS and a registered app."""
    deployer = dev_account(0)
    safe = create_safe(eth_client, deployer, safe_infra, [dev_account(i).address for i in (1, 2, 3)], 2)
    sender = TransactionSender(w3, deployer)
    app_implementation = deploy_implementation(sender, "DstackApp").contract_address
    assert app_implementation is not None
    kms = deploy_kms(sender, safe, app_implementation).proxy
    app = deploy_app(sender, app_implementation, AppSettings(owner=safe)).proxy
    sender.send(kms, get_action("kms-register-app").encode({"appId": app}))
    return Deployed(safe, kms, app, app_implementation)


@pytest.fixture
def gov(deployed, w3, eth_client, safe_infra, tmp_path) -> Governance:
    """The deployment with a fresh SQLite store and the real service (executor: dev account 9)."""
    db_url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    store = open_store(db_url)
    owners = [dev_account(i) for i in (1, 2, 3)]
    gov = Governance(w3, eth_client, safe_infra, deployed.safe, owners, 2, deployed.kms, deployed.app,
                     deployed.app_implementation, db_url, dev_account(EXECUTOR_INDEX), Clock(), store,
                     None)  # type: ignore[arg-type]  # fmt: skip
    gov.svc = gov.service(store=store)
    return gov


@pytest.fixture
async def api(gov: Governance) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the API in-process (no socket)."""
    app = create_api(gov.svc, token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=60) as client:
        yield client


def batch_body(gov: Governance, *, image: str = IMAGE, compose: str = COMPOSE, **extra: Any) -> dict[str, Any]:
    """Return a proposal file (as JSON) that allows an OS image on the KMS and a compose hash on the app."""
    return {
        "title": "Allow the new OS image and compose hash",
        "description": "Release 1.2",
        "actions": [
            {"action": "kms add-image", "osImageHash": image},
            {"action": "app add-hash", "app": gov.app_address, "composeHash": compose},
        ],
        **extra,
    }


async def propose(api: httpx.AsyncClient, gov: Governance, **extra: Any) -> dict[str, Any]:
    """POST the batch proposal with the token and return its view."""
    response = await api.post("/api/proposals", json=batch_body(gov, **extra), headers=AUTH)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


async def signature_for(api: httpx.AsyncClient, proposal_id: int, account: LocalAccount) -> str:
    """Sign the typed data the API hands out, as a wallet would, and return the signature hex."""
    typed = (await api.get(f"/api/proposals/{proposal_id}/typed-data")).json()
    return "0x" + bytes(account.sign_typed_data(full_message=typed).signature).hex()


async def sign(api: httpx.AsyncClient, proposal_id: int, account: LocalAccount) -> httpx.Response:
    """POST `account`'s signature of the proposal (no token: signatures are verified on their own)."""
    signature = await signature_for(api, proposal_id, account)
    return await api.post(f"/api/proposals/{proposal_id}/signatures", json={"signature": signature})
