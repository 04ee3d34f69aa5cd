"""/metrics, read with Prometheus's own parser: latency, RPC errors by endpoint, role, balance and backlog."""

from __future__ import annotations

from dstack_gov.anvil import free_port
from dstack_gov.api import create_api
from foundation.health import ProcessHealth, set_leader
from proposals.chain import connect_client
from proposals.execution import Executor
from proposals.service import GovernanceService
from tests.api.conftest import TOKEN, propose, sign
from tests.api.test_operations import client_for
from tests.helpers.prometheus import scraped
from tests.helpers.rpc_proxy import SECRETS, RpcProxy


def one(labels: dict[str, str] | None = None) -> frozenset[tuple[str, str]]:
    return frozenset((labels or {}).items())


async def test_signature_to_execution_latency_is_a_histogram(api, gov):
    view = await propose(api, gov)
    await sign(api, view["id"], gov.owners[0])
    await sign(api, view["id"], gov.owners[1])
    samples = scraped((await api.get("/metrics")).text)
    assert samples["dstack_gov_signature_to_executed_seconds_count", one()] == 1
    assert samples["dstack_gov_signature_to_executed_seconds_bucket", one({"le": "+Inf"})] == 1
    assert samples["dstack_gov_signature_to_executed_seconds_sum", one()] > 0
    assert samples["dstack_gov_outbox_backlog", one()] == 0


async def test_rpc_errors_by_endpoint_role_and_executor_balance(gov, anvil):
    health = ProcessHealth()
    with RpcProxy(anvil.url) as healthy:
        dead = f"http://127.0.0.1:{free_port()}"
        client = connect_client([dead, healthy.secret_url], timeout=2.0)
        assert gov.svc.executor is not None
        executor = Executor(gov.svc.executor.sender, client)
        service = GovernanceService(client=client, store=gov.store, safes=[gov.safe], kms=gov.kms_address,
                                    settings=gov.settings(), executor=executor)  # fmt: skip
        check = service.check_executor_balance()
        set_leader(True, health)
        async with client_for(create_api(service, token=TOKEN, health=health)) as api:
            text = (await api.get("/metrics")).text
    samples = scraped(text)
    assert samples["dstack_gov_rpc_errors_total", one({"endpoint": dead, "kind": "connection"})] == 1
    assert samples["dstack_gov_rpc_requests_total", one({"endpoint": healthy.url})] >= 1
    assert (
        samples["dstack_gov_rpc_endpoint_health", one({"endpoint": dead})]
        < samples["dstack_gov_rpc_endpoint_health", one({"endpoint": healthy.url})]
    )
    assert samples["dstack_gov_leader", one({"role": "leader"})] == 1
    assert check is not None and samples["dstack_gov_executor_balance_wei", one()] == check.balance
    for secret in SECRETS:
        assert secret not in text


async def test_a_follower_reports_zero_and_no_balance_before_a_check(gov):
    health = ProcessHealth()
    set_leader(False, health)
    async with client_for(create_api(gov.svc, token=TOKEN, health=health)) as api:
        samples = scraped((await api.get("/metrics")).text)
    assert samples["dstack_gov_leader", one({"role": "follower"})] == 0
    assert not any(name == "dstack_gov_executor_balance_wei" for name, _ in samples)
