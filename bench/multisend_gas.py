"""Gas of one 10-action proposal (a MultiSendCallOnly batch) against 10 single-action Safe transactions.

Both run on a fresh anvil through the real service (2-of-3 Safe, EIP-712 signatures, executor key),
with the same ten kinds of first-time writes, so the ratio is measured in one run on one chain.
Target: batch / singles <= 0.40.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from safe_eth.eth import EthereumClient
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.safe_infra import deploy_safe_infra
from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance, build_governance

TARGET = 0.40
ACTIONS = 10


def _requests(gov: Governance, tag: str) -> list[RequestedAction]:
    """Ten distinct first-time writes across the KMS and the app (a realistic release batch)."""

    def h(i: int) -> str:
        return "0x" + Web3.keccak(text=f"{tag}-{i}").hex().removeprefix("0x")

    kinds = [("kms-add-image", "osImageHash", None), ("app-add-hash", "composeHash", gov.app_address),
             ("app-add-device", "deviceId", gov.app_address), ("kms-add-mr", "mrAggregated", None),
             ("kms-add-device", "deviceId", None)]  # fmt: skip
    out = []
    for i in range(ACTIONS):
        name, param, target = kinds[i % len(kinds)]
        out.append(RequestedAction(get_action(name), {param: h(i)}, target))
    return out


def _execute(gov: Governance, request: ChangeRequest) -> int:
    proposal = gov.svc.propose(request, proposer="bench")
    for owner in gov.owners[: gov.threshold]:
        gov.svc.sign_with_account(proposal.id, owner, source="bench")
    done = gov.svc.get(proposal.id)
    assert done.state.value == "executed" and done.execution_gas, done
    return int(done.execution_gas)


def main() -> int:
    """Measure and print the table; exit 1 when the ratio misses the target."""
    with Anvil(free_port()) as node, tempfile.TemporaryDirectory() as tmp:
        client = EthereumClient(node.url)  # type: ignore[arg-type]
        infra = deploy_safe_infra(client, dev_account(0))
        gov = build_governance(client.w3, client, infra, Path(tmp))
        batch_gas = _execute(gov, ChangeRequest("ten actions, one batch", tuple(_requests(gov, "batch"))))
        single_gas = [_execute(gov, ChangeRequest(f"single {i}", (r,))) for i, r in enumerate(_requests(gov, "one"))]
    singles = sum(single_gas)
    ratio = batch_gas / singles
    table = Table(title=f"{ACTIONS} governance actions through a 2-of-3 Safe (receipt gasUsed)")
    table.add_column("how")
    table.add_column("Safe txs", justify="right")
    table.add_column("gas", justify="right")
    table.add_row("one MultiSendCallOnly proposal", "1", f"{batch_gas:,}")
    table.add_row("single-action proposals", str(ACTIONS), f"{singles:,}")
    table.add_row("ratio batch / singles", "", f"{ratio:.3f} (target <= {TARGET})")
    Console().print(table)
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
