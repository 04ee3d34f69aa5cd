"""Confirmations: an execution is final only `confirmations` blocks deep; one a reorg drops executes again once."""

from __future__ import annotations

from dataclasses import replace

from hexbytes import HexBytes

from proposals.execution import EXECUTION_SUCCESS_TOPIC, Executor, logged_safe_tx_hash
from proposals.models import Proposal, ProposalState
from proposals.service import GovernanceService
from proposals.views import proposal_as_dict
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.governance import Governance
from tests.helpers.proposing import event_names, execute_outside, image_allowed, propose_image, sign

CONFIRMATIONS = 3


def confirming_service(gov: Governance) -> GovernanceService:
    """The test's service, with executions final only CONFIRMATIONS blocks deep."""
    svc = gov.service()
    svc.settings = replace(svc.settings, confirmations=CONFIRMATIONS)
    return svc


def mine(gov: Governance, blocks: int) -> None:
    gov.w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def successes(gov: Governance, proposal: Proposal) -> int:
    logs = gov.w3.eth.get_logs({"address": gov.safe, "fromBlock": 0, "topics": [HexBytes(EXECUTION_SUCCESS_TOPIC)]})
    return sum(1 for log in logs if logged_safe_tx_hash(log) == proposal.safe_tx_hash)


def test_an_execution_confirms_before_it_is_final(gov):
    svc = confirming_service(gov)
    proposal = propose_image(gov, 1, svc=svc)
    done = sign(gov, proposal.id, 0, 1, svc=svc).proposal
    assert done.state is ProposalState.EXECUTING and done.confirming
    assert done.execution_tx_hash is not None and image_allowed(gov, 1)
    assert proposal_as_dict(done)["execution"] == {
        "txHash": "0x" + done.execution_tx_hash.hex(), "blockNumber": done.execution_block,
        "gasUsed": done.execution_gas, "confirming": True,
    }  # fmt: skip
    mine(gov, CONFIRMATIONS - 2)  # CONFIRMATIONS - 1 blocks deep: not yet
    svc.reconcile()
    assert svc.get(proposal.id).confirming
    mine(gov, 1)
    svc.reconcile()
    final = svc.get(proposal.id)
    assert final.state is ProposalState.EXECUTED and not final.confirming
    assert final.execution_tx_hash == done.execution_tx_hash
    assert "execution-mined" in event_names(gov, proposal.id)


def test_a_reorg_that_drops_the_execution_sends_it_again_once(gov):
    svc = confirming_service(gov)
    proposal = propose_image(gov, 2, svc=svc)
    sign(gov, proposal.id, 0, svc=svc)
    before = gov.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    mined = sign(gov, proposal.id, 1, svc=svc).proposal
    assert mined.confirming and image_allowed(gov, 2)
    # The block holding our execution is gone (our snapshot is newer than the test fixture's: it stays intact).
    gov.w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]
    assert not image_allowed(gov, 2)

    report = svc.reconcile()
    assert report.rebroadcast == [proposal.id]  # the recorded transaction, sent again
    dropped = svc.get(proposal.id)
    assert dropped.state is ProposalState.EXECUTING and not dropped.confirming
    assert "execution-reorged" in event_names(gov, proposal.id)

    svc.reconcile()  # mined again: confirming once more
    assert svc.get(proposal.id).confirming
    mine(gov, CONFIRMATIONS)
    svc.reconcile()
    assert svc.get(proposal.id).state is ProposalState.EXECUTED
    assert image_allowed(gov, 2) and successes(gov, proposal) == 1


def test_an_execution_elsewhere_that_a_reorg_drops_is_executed_by_us(gov):
    svc = confirming_service(gov)
    executor, svc.executor = svc.executor, None  # someone else executes first
    proposal = propose_image(gov, 3, svc=svc)
    sign(gov, proposal.id, 0, 1, svc=svc)
    before = gov.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    execute_outside(gov, proposal, gov.owners[:2])
    svc.reconcile()
    assert svc.get(proposal.id).confirming  # seen on chain, not final yet
    gov.w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]

    svc.executor = executor
    assert isinstance(executor, Executor)
    svc.reconcile()  # dropped: released to approved and executed by our executor in the same pass
    again = svc.get(proposal.id)
    assert again.confirming and image_allowed(gov, 3)
    mine(gov, CONFIRMATIONS)
    svc.reconcile()
    assert svc.get(proposal.id).state is ProposalState.EXECUTED and successes(gov, proposal) == 1


def test_the_cli_executes_with_configured_confirmations_and_shows_confirming(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    config.write_text(
        config.read_text().replace("chain_id = 1337\n", f"chain_id = 1337\nconfirmations = {CONFIRMATIONS}\n")
    )
    proposal = propose_image(gov, 4)
    sign(gov, proposal.id, 0, 1, svc=gov.service(with_executor=False))
    assert run_cli(capsys, "execute", str(proposal.id), "--config", str(config)).code == 0
    shown = run_cli(capsys, "status", str(proposal.id), "--config", str(config))
    assert "executed, confirming" in shown.out
    status = run_cli(capsys, "status", str(proposal.id), "--config", str(config), "--json").json()
    assert (status["state"], status["execution"]["confirming"]) == ("executing", True)
    mine(gov, CONFIRMATIONS)
    assert run_cli(capsys, "reconcile", "--config", str(config)).code == 0
    final = run_cli(capsys, "status", str(proposal.id), "--config", str(config), "--json").json()
    assert (final["state"], final["execution"]["confirming"]) == ("executed", False)
