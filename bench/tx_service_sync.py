"""Safe Transaction Service sync: requests per watcher pass, and Safe{Wallet} confirmation -> counted here.

Runs against a fresh anvil devnet (real Safes) and the loopback stand-in of the service
(tests/helpers/fake_tx_service.py), with the service wired from the config file as `dstack-gov run`
wires it (`[safe_transaction_service] url` appended to the devnet's config).

1. Requests per pass. For N Safes and M pending Safe{Wallet} transactions (spread over the Safes), one
   pass imports them all; the table counts the HTTP requests of the next (steady-state) pass, with the
   default page size (100) and with 20 per page. Confirmations come inside the listing, so nothing is
   asked per transaction: the count grows with N and the pages, not with M.
2. Latency. A watcher thread runs a pass every POLL_INTERVAL seconds. An owner confirms a proposal in
   "Safe{Wallet}" (an HTTP POST to the stand-in) at a random moment; the time until the signature is in
   our store is measured SAMPLES times. Expected: at most one poll interval plus one pass.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.helpers, run as a script

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.table import Table
from safe_eth.eth import EthereumClient

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.config import load_config
from dstack_gov.devnet import Devnet, DevnetOptions, build_devnet
from dstack_gov.safe_infra import create_safe
from dstack_gov.wiring import Overrides, build_service
from proposals.catalogue import get_action
from proposals.models import SafeTxData
from proposals.planning import ChangeRequest, RequestedAction
from proposals.safe_tx import new_safe_tx_data, read_safe_state, safe_tx_hashes, typed_data
from proposals.service import GovernanceService
from proposals.tx_service import TxServiceClient
from tests.helpers.fake_tx_service import FakeTxService

POLL_INTERVAL = 1.0
SAMPLES = 9
SIZES = [(1, 1), (1, 10), (1, 50), (3, 1), (3, 10), (3, 50)]
_image = 0


def _add_image_data() -> bytes:
    global _image
    _image += 1
    return get_action("kms-add-image").encode({"osImageHash": (0xBE000 + _image).to_bytes(32, "big")})


def _service(
    devnet: Devnet, fake: FakeTxService, safes: list[ChecksumAddress], page_size: int, db: Path
) -> GovernanceService:
    """Build the service as `dstack-gov run` does, from the devnet's config plus the sync section."""
    extra = "".join(f'\n[[safes]]\naddress = "{safe}"\n' for safe in safes if safe != devnet.safe)
    path = db.with_suffix(".toml")
    path.write_text(devnet.config_path.read_text() + extra
                    + f'\n[safe_transaction_service]\nurl = "{fake.base_url}"\npage_size = {page_size}\n')  # fmt: skip
    config = load_config(path)
    config = config.model_copy(update={"database": config.database.model_copy(update={"url": f"sqlite:///{db}"})})
    if devnet.safe not in safes:
        config = config.model_copy(update={"safes": tuple(s for s in config.safes if s.address in safes)})
    return build_service(config, Overrides(), environ={})


def _wallet_propose(client: TxServiceClient, owner: LocalAccount, tx: SafeTxData) -> bytes:
    safe_tx_hash = safe_tx_hashes(tx).safe_tx_hash
    client.propose(tx, safe_tx_hash, owner.address, bytes(owner.sign_typed_data(full_message=typed_data(tx)).signature))
    return safe_tx_hash


def requests_per_pass(devnet: Devnet, eth_client: EthereumClient, work: Path) -> Table:
    """Return the table of HTTP requests per steady-state pass for each (N, M)."""
    table = Table(title="HTTP requests to the service per watcher pass (steady state)")
    for column in ("Safes N", "pending M", "imported", "page size 100", "page size 20"):
        table.add_column(column, justify="right")
    for run, (n, m) in enumerate(SIZES):
        safes = [create_safe(eth_client, devnet.deployer, devnet.infra, [o.address for o in devnet.owners], 2,
                             salt_nonce=900_000 + run * 10 + i) for i in range(n)]  # fmt: skip
        with FakeTxService(eth_client) as fake:
            client = TxServiceClient(fake.base_url, chain_id=devnet.chain_id, api_key=None, timeout=10)
            for index in range(m):
                safe = safes[index % n]
                state = read_safe_state(eth_client.w3, safe)
                tx = new_safe_tx_data(state, devnet.kms, _add_image_data(), 0, state.nonce + index // n)
                _wallet_propose(client, devnet.owners[0], tx)
            counts = []
            imported = 0
            for page_size in (100, 20):
                service = _service(devnet, fake, safes, page_size, work / f"pass-{run}-{page_size}.sqlite")
                imported = len(service.sync_tx_service().imported)
                before = fake.count()
                service.sync_tx_service()
                counts.append(fake.count() - before)
                service.close()
        table.add_row(str(n), str(m), str(imported), *(str(c) for c in counts))
    return table


def _propose_and_post(service: GovernanceService, devnet: Devnet, index: int) -> int:
    action = RequestedAction(get_action("kms-add-image"), {"osImageHash": "0x" + f"{0xC0000 + index:064x}"})
    proposal = service.propose(ChangeRequest(f"Latency sample {index}", (action,)), proposer="bench")
    service.sign_with_account(proposal.id, devnet.owners[0], source="bench")
    service.sync_tx_service()  # posted with owner 1 as sender
    return proposal.id


def latency(devnet: Devnet, eth_client: EthereumClient, work: Path) -> list[float]:
    """Return seconds from a Safe{Wallet} confirmation to the signature stored here, SAMPLES times."""
    with FakeTxService(eth_client) as fake:
        service = _service(devnet, fake, [devnet.safe], 100, work / "latency.sqlite")
        client = TxServiceClient(fake.base_url, chain_id=devnet.chain_id, api_key=None, timeout=10)
        gate, stop = threading.Lock(), threading.Event()

        def watcher() -> None:
            while not stop.wait(POLL_INTERVAL):
                with gate:
                    service.sync_tx_service()

        thread = threading.Thread(target=watcher, daemon=True)
        thread.start()
        found = []
        rng = random.Random(7)
        try:
            for index in range(SAMPLES):
                with gate:
                    pid = _propose_and_post(service, devnet, index)
                    proposal = service.get(pid)
                time.sleep(rng.uniform(0, POLL_INTERVAL))
                signature = devnet.owners[1].sign_typed_data(full_message=typed_data(proposal.safe_tx)).signature
                client.confirm(proposal.safe_tx_hash, bytes(signature))
                start = time.perf_counter()
                deadline = start + 10 * POLL_INTERVAL
                while time.perf_counter() < deadline:
                    if any(s.owner == devnet.owners[1].address for s in service.store.signatures(pid)):
                        break
                    time.sleep(0.005)
                else:
                    raise RuntimeError(f"sample {index}: the confirmation was not counted in {10 * POLL_INTERVAL} s")
                found.append(time.perf_counter() - start)
                with gate:  # the quorum signature executes at once: wait for the watcher's pass to end
                    pass
        finally:
            stop.set()
            thread.join(timeout=30)
            service.close()
    return found


def main() -> int:
    """Run both measurements on a fresh devnet and print them."""
    console = Console()
    with Anvil(free_port()) as anvil, tempfile.TemporaryDirectory(prefix="dstack-gov-txs-") as tmp:
        work = Path(tmp)
        devnet = build_devnet(DevnetOptions(rpc_url=anvil.url, config_path=work / "dstack-gov.toml",
                                            state_dir=work / "devnet"))  # fmt: skip
        eth_client = EthereumClient(anvil.url)  # type: ignore[arg-type]
        console.print(requests_per_pass(devnet, eth_client, work))
        samples = latency(devnet, eth_client, work)
    console.print(
        f"Safe{{Wallet}} confirmation -> counted here, poll_interval {POLL_INTERVAL:.1f} s, {SAMPLES} samples: "
        f"median {statistics.median(samples):.2f} s, max {max(samples):.2f} s"
    )
    bound = POLL_INTERVAL + 1.0
    if max(samples) > bound:
        console.print(f"[red]slower than one poll interval plus a pass ({bound:.1f} s)[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
