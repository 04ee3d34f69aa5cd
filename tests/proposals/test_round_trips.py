"""The proposal path's JSON-RPC round trips, counted through a loopback proxy (a batch is one round trip)."""

from __future__ import annotations

from contracts import TransactionSender
from proposals.chain import connect_client
from proposals.execution import Executor
from proposals.models import ProposalState
from proposals.service import GovernanceService
from proposals.store import open_store
from tests.helpers.governance import Governance
from tests.helpers.proposing import propose_image, sign
from tests.helpers.rpc_proxy import RpcProxy

STATE_READ = ("eth_chainId", "eth_getCode", "eth_call", "eth_call", "eth_call", "eth_call")


def through(gov: Governance, url: str) -> GovernanceService:
    """Build the service (with the executor key) on a client that talks to the chain through `url`."""
    client = connect_client(url)
    assert gov.executor_account is not None
    executor = Executor(TransactionSender(client.w3, gov.executor_account), client)
    return GovernanceService(client=client, store=open_store(gov.db_url), safes=[gov.safe], kms=gov.kms_address,
                             settings=gov.settings(), executor=executor, clock=gov.clock)  # fmt: skip


def test_the_quorum_signature_reads_the_safe_once_and_sends_after_one_batched_simulation(gov: Governance, anvil):
    with RpcProxy(anvil.url) as node:
        svc = through(gov, node.url)
        p = propose_image(gov, 1, svc=svc)
        node.round_trips.clear()
        sign(gov, p.id, 0, svc=svc)
        first, node.round_trips[:] = list(node.round_trips), []
        done = sign(gov, p.id, 1, svc=svc)
        quorum, node.round_trips[:] = list(node.round_trips), []
        svc.view(p.id)
        view = list(node.round_trips)

    assert done.proposal.state is ProposalState.EXECUTED and done.execution_error is None
    assert first == [STATE_READ] and view == [STATE_READ]
    # The Safe's state, once; one simulation batched with the executor's nonce and the fees; the send.
    assert quorum[:3] == [
        STATE_READ,
        ("eth_estimateGas", "eth_chainId", "eth_getTransactionCount", "eth_getBlockByNumber",
         "eth_maxPriorityFeePerGas"),
        ("eth_sendRawTransaction",),
    ]  # fmt: skip
    # Then only receipt polls: anvil mines a sent transaction on its own task, so how many is not fixed.
    assert quorum[3:] and set(quorum[3:]) == {("eth_getTransactionReceipt",)}


def test_filing_reads_each_view_call_once_and_code_once_per_process(gov: Governance, anvil):
    with RpcProxy(anvil.url) as node:
        svc = through(gov, node.url)
        node.round_trips.clear()
        propose_image(gov, 1, svc=svc)
        first, node.round_trips[:] = list(node.round_trips), []
        propose_image(gov, 2, svc=svc)
        second = list(node.round_trips)

    # The KMS's code, its owner, the image's precheck (its diff reads the same), the Safe, the simulation.
    assert first == [("eth_getCode",), ("eth_call",), ("eth_call",), STATE_READ, ("eth_call",)]
    assert second == first[1:]  # the KMS still has code: that is not asked again
