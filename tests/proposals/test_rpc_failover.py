"""Several RPC endpoints: the healthiest answers, a dead or silent one costs at most its share of the timeout."""

from __future__ import annotations

import logging
import time

import pytest
from safe_eth.eth.contracts import get_safe_V1_4_1_contract

from dstack_gov.anvil import free_port
from foundation.endpoints import EndpointPool, endpoint_labels
from foundation.redaction import install_log_redaction
from proposals.chain import connect, connect_client
from proposals.errors import Unavailable
from proposals.rpc_endpoints import endpoint_pool
from tests.helpers.rpc_proxy import SECRETS, RpcProxy

TIMEOUT = 2.0
# Generous: the bound only proves no call waits for a silent node more than once per timeout.
BOUND = 3 * TIMEOUT


def _down_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


def test_a_dead_endpoint_is_skipped_and_then_tried_last(anvil):
    with RpcProxy(anvil.url) as healthy:
        client = connect_client([_down_url(), healthy.url], expected_chain_id=1337, timeout=TIMEOUT)
        for _ in range(3):
            assert client.w3.eth.block_number >= 0
        pool = endpoint_pool(client.http_session)
        assert pool is not None
        dead, good = pool.stats()
        # Only the first call (the chain-id check) tried the dead node; after that the healthy one goes first.
        assert dead.errors == {"connection": 1}
        assert good.requests == len(healthy.targets) >= 4 and not good.errors
        assert dead.health < good.health


def test_a_silent_endpoint_costs_its_share_and_the_slow_one_answers(anvil):
    with RpcProxy(anvil.url, silent=True) as silent, RpcProxy(anvil.url, delay=0.2) as slow:
        started = time.monotonic()
        w3 = connect([silent.url, slow.url], expected_chain_id=1337, timeout=TIMEOUT)
        assert w3.eth.block_number >= 0
        elapsed = time.monotonic() - started
        assert len(silent.targets) == 1  # the silent node was asked once; the next calls went to the slow one
        assert len(slow.targets) == 2
    assert elapsed < BOUND, f"took {elapsed:.1f} s with a {TIMEOUT:g} s timeout"


def test_a_5xx_moves_on_and_batches_from_safe_eth_py_fail_over_too(anvil, safe_infra):
    with RpcProxy(anvil.url) as failing, RpcProxy(anvil.url) as healthy:
        failing.error_status = 503
        client = connect_client([failing.url, healthy.url], expected_chain_id=1337, timeout=TIMEOUT)
        # safe-eth-py posts its batch calls itself, through the same session.
        singleton = get_safe_V1_4_1_contract(client.w3, safe_infra.singleton)
        (version,) = client.batch_call([singleton.functions.VERSION()])
        assert version == "1.4.1"
        pool = endpoint_pool(client.http_session)
        assert pool is not None
        assert pool.stats()[0].errors == {"http_5xx": 1}  # asked once, then ranked last
        assert len(failing.targets) == 1 and len(healthy.targets) >= 2


def test_every_endpoint_down_is_unavailable_within_the_timeout():
    started = time.monotonic()
    with pytest.raises(Unavailable, match="unreachable"):
        connect_client([_down_url(), _down_url()], timeout=TIMEOUT)
    assert time.monotonic() - started < BOUND


def test_endpoint_keys_never_reach_logs_or_labels(anvil, caplog):
    uninstall = install_log_redaction()
    try:
        with RpcProxy(anvil.url, silent=True) as silent, RpcProxy(anvil.url) as healthy:
            with caplog.at_level(logging.DEBUG):
                client = connect_client([silent.secret_url, healthy.secret_url], timeout=1.0)
                assert client.w3.eth.block_number >= 0
            pool = endpoint_pool(client.http_session)
            assert pool is not None
            labels = [s.label for s in pool.stats()]
    finally:
        uninstall()
    text = caplog.text + " ".join(labels)
    assert caplog.records  # urllib3 logged the requests
    for secret in SECRETS:
        assert secret not in text
    assert labels == [silent.url, healthy.url]


def test_penalties_decay_so_a_recovered_endpoint_goes_first_again():
    now = [0.0]
    pool = EndpointPool(["http://a.example", "http://b.example"], clock=lambda: now[0])
    first, second = pool.ordered()
    pool.failed(first, "timeout")
    assert [e.label for e in pool.ordered()] == ["http://b.example", "http://a.example"]
    pool.succeeded(second, 2.0, 2.0)  # answered, but slowly: a full timeout's worth of penalty
    now[0] += 3600  # an hour later both penalties have decayed away: the configured order again
    assert [e.label for e in pool.ordered()] == ["http://a.example", "http://b.example"]


def test_labels_name_hosts_only_and_tell_twins_apart():
    assert endpoint_labels(["https://u:p@rpc.example/v2/KEY", "https://rpc.example/other?k=1", "http://n:8545"]) == [
        "https://rpc.example#1",
        "https://rpc.example#2",
        "http://n:8545",
    ]
