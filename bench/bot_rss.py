"""The bot process's resident memory with 1,000 pending proposals.

`dstack-gov run` runs as its own process (bot + scheduler + HTTP API) against anvil and the
loopback fake Bot API. First with no proposals, then with 1,000 pending ones: the bot announces
every one (1,000 messages, 2,000 stored jobs), the watcher reconciles them, and VmRSS / VmHWM are
read from /proc. The ratio is RSS with 1,000 pending over RSS with none.

    .venv/bin/python bench/bot_rss.py [proposals]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safe_eth.eth import EthereumClient
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.safe_infra import deploy_safe_infra
from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from tests.helpers.bot import CHAT, run_process, stop_with_sigterm, write_run_config
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance, build_governance

PROPOSALS = 1_000
POLL_INTERVAL = 5.0


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def file_proposals(gov: Governance, count: int) -> float:
    """File `count` pending proposals (one OS image each); return the seconds it took."""
    started = time.monotonic()
    action = get_action("kms-add-image")
    for n in range(1, count + 1):
        image = "0x" + n.to_bytes(32, "big").hex()
        request = ChangeRequest(f"Allow image {n}", (RequestedAction(action, {"osImageHash": image}),))
        gov.svc.propose(request, proposer="bench")
    return time.monotonic() - started


def announced(telegram: FakeTelegram) -> int:
    return sum(1 for m in telegram.bot_messages(CHAT) if m.reply_to is None)


async def run_bot(
    gov: Governance, anvil_url: str, telegram: FakeTelegram, directory: Path, expect: int
) -> dict[str, float]:
    """Start `dstack-gov run`, wait for `expect` announcements and two watcher passes, read its memory."""
    config = write_run_config(gov, anvil_url, telegram, directory, poll_interval=POLL_INTERVAL)
    started = time.monotonic()
    async with run_process(config, telegram.token, startup=60) as (process, _):
        await telegram.wait_for(lambda: announced(telegram) >= expect or None, within=900, what="announcements")
        announce_seconds = time.monotonic() - started
        await asyncio.sleep(2 * POLL_INTERVAL)  # two watcher passes over every open proposal
        memory = memory_kib(process.pid)
        code = await stop_with_sigterm(process, within=120)
    return {"rss": memory["VmRSS"] / 1024, "peak": memory["VmHWM"] / 1024, "seconds": announce_seconds,
            "exit": code}  # fmt: skip


def main(count: int = PROPOSALS) -> None:
    """Measure the bot with no pending proposals, then with `count`."""
    anvil = Anvil(free_port()).start()
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        client = EthereumClient(anvil.url)
        infra = deploy_safe_infra(client, dev_account(0))
        results = {}
        for label, n in (("0 pending", 0), (f"{count} pending", count)):
            with tempfile.TemporaryDirectory() as directory, FakeTelegram() as telegram:
                gov = build_governance(w3, client, infra, Path(directory))
                filing = file_proposals(gov, n)
                results[label] = asyncio.run(run_bot(gov, anvil.url, telegram, Path(directory), n))
                results[label]["filing"] = filing
    finally:
        anvil.stop()
    idle, loaded = results["0 pending"], results[f"{count} pending"]
    print("bot RSS: `dstack-gov run` (bot + scheduler + HTTP API), after announcing everything and two "
          f"watcher passes of {POLL_INTERVAL:g} s")  # fmt: skip
    for label, figures in results.items():
        print(f"  {label:<12} RSS {figures['rss']:6.1f} MiB   peak {figures['peak']:6.1f} MiB   "
              f"announced in {figures['seconds']:6.1f} s   SIGTERM exit {figures['exit']}")  # fmt: skip
    print(f"  ratio {count} pending / 0 pending: RSS {loaded['rss'] / idle['rss']:.2f}, "
          f"peak {loaded['peak'] / idle['peak']:.2f}; "
          f"extra {1024 * (loaded['rss'] - idle['rss']) / max(count, 1):.1f} KiB per pending proposal")  # fmt: skip
    print(f"  (filing the {count} proposals through the core took {loaded['filing']:.1f} s; not part of the bot)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else PROPOSALS)
