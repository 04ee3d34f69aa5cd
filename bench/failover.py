"""Leader killed (-9) -> the first update answered by the new leader: median and max of 5 runs.

Three `dstack-gov run` replicas share one PostgreSQL database (the throwaway cluster of
.ci/postgres.sh) and the loopback fake Bot API; anvil holds the governed Safe. Each run makes sure
the leader answers, kills it with SIGKILL, and at once sends `/pending`; the clock runs from the kill
to the new leader's reply. A fresh replica then replaces the dead one, so every run starts from three.

    eval "$(.ci/postgres.sh start)"
    .venv/bin/python bench/failover.py [runs]
    .ci/postgres.sh stop
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The bench reuses the test helpers (the fake Bot API, the governed Safe, replicas); they live under tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safe_eth.eth import EthereumClient
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.safe_infra import deploy_safe_infra
from tests.helpers.bot import CHAT, OWNER_1, replies_to
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import build_governance
from tests.helpers.postgres import PG_URL_ENV, fresh_database
from tests.helpers.replicas import Replica, kill, replica_config, start_replica, stop_all, wait_for_leader

RUNS = 5
WITHIN = 60.0


async def answered(telegram: FakeTelegram) -> float:
    """Send /pending and return when its reply arrived (monotonic)."""
    _, asked = telegram.say(CHAT, OWNER_1, "/pending")
    await telegram.wait_for(lambda: replies_to(telegram, asked), within=WITHIN, what="a reply to /pending")
    return time.monotonic()


async def measure(config: Path, telegram: FakeTelegram, db_url: str, directory: Path, runs: int) -> list[float]:
    """Return the seconds from each kill to the first reply by the next leader."""
    logs = iter(directory / f"replica-{n}.log" for n in range(runs + 3))
    replicas: list[Replica] = list(
        await asyncio.gather(*(start_replica(config, telegram.token, next(logs)) for _ in range(3)))
    )
    samples = []
    try:
        for _ in range(runs):
            leader = await wait_for_leader(db_url, replicas)
            await answered(telegram)  # the leader is polling
            await kill(leader)
            killed = time.monotonic()
            samples.append(await answered(telegram) - killed)
            replicas.append(await start_replica(config, telegram.token, next(logs)))
    finally:
        await stop_all(replicas)
    return samples


def main(runs: int = RUNS) -> None:
    """Set up anvil, the Safe, the fake Bot API and a fresh database, then print the figures."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        sys.exit(f'failover bench: set {PG_URL_ENV} (eval "$(.ci/postgres.sh start)")')
    anvil = Anvil(free_port()).start()
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        client = EthereumClient(anvil.url)
        infra = deploy_safe_infra(client, dev_account(0))
        with (
            tempfile.TemporaryDirectory() as directory,
            FakeTelegram() as telegram,
            fresh_database(base, prefix="failover") as db_url,
        ):
            gov = build_governance(w3, client, infra, Path(directory))
            config = replica_config(gov, anvil.url, telegram, Path(directory), db_url)
            samples = asyncio.run(measure(config, telegram, db_url, Path(directory), runs))
    finally:
        anvil.stop()
    print(f"failover: leader kill -9 -> first update answered by the new leader, {len(samples)} runs (3 replicas)")
    print(f"median {statistics.median(samples):.2f} s   max {max(samples):.2f} s   "
          f"(each: {', '.join(f'{s:.2f}' for s in samples)} s)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
