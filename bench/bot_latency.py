"""From the last signature to the "executed" edit in the fake chat: the median over 20 runs.

Everything is real except Telegram: anvil, the Safe 2-of-3, the core with its executor key, the bot
with the real python-telegram-bot client, long polling against the loopback fake Bot API. Each run
files a proposal, lets owner 1 sign, then owner 2 pastes `/sign <id> 0x…` in the chat; the clock
runs from that message until the fake records the edit that shows "✅ Executed".

    .venv/bin/python bench/bot_latency.py [runs]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The bench reuses the test helpers (the fake Bot API, the governed Safe); they live under tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safe_eth.eth import EthereumClient
from web3 import Web3

from bot.runner import BotRuntime
from dstack_gov.anvil import Anvil, free_port
from dstack_gov.safe_infra import deploy_safe_infra
from tests.helpers.bot import CHAT, OWNER_2, announcement, propose_image, settings_for
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance, build_governance

RUNS = 20
EXECUTED = "✅ Executed"


def executed_at(telegram: FakeTelegram, message_id: int) -> float | None:
    """Return when the announcement was first edited to show the execution."""
    for at, text in telegram.message(CHAT, message_id).history:
        if EXECUTED in text:
            return at
    return None


async def one_run(gov: Governance, telegram: FakeTelegram, runtime: BotRuntime, n: int) -> tuple[float, float]:
    """Return (seconds from the /sign message, seconds from its delivery) to the executed edit."""
    proposal = await propose_image(runtime, 10_000 + n)
    message = await telegram.wait_for(lambda: announcement(telegram, proposal.id), what="announcement")
    await runtime.core.write(runtime.service.sign_with_account, proposal.id, gov.owners[0], source="bench")
    await telegram.wait_for(lambda: "Signatures 1/2" in telegram.message(CHAT, message.message_id).text, what="1/2")
    typed = gov.svc.typed_data(proposal.id)
    signature = gov.owners[1].sign_typed_data(full_message=typed).signature.hex().removeprefix("0x")
    said = time.monotonic()
    update_id, _ = telegram.say(CHAT, OWNER_2, f"/sign {proposal.id} 0x{signature}")
    done = await telegram.wait_for(lambda: executed_at(telegram, message.message_id), within=60, what="execution")
    return done - said, done - telegram.delivered_at[update_id]


async def measure(gov: Governance, telegram: FakeTelegram, runs: int) -> list[tuple[float, float]]:
    """Run the bot and time `runs` executions (one warm-up run first, not counted)."""
    settings = settings_for(gov, telegram, polling_timeout=10)
    async with BotRuntime(settings, gov.service(), db_url=gov.db_url) as runtime:
        await one_run(gov, telegram, runtime, 0)
        return [await one_run(gov, telegram, runtime, n) for n in range(1, runs + 1)]


def main(runs: int = RUNS) -> None:
    """Set up anvil, the Safe and the fake Bot API, then print the figures."""
    anvil = Anvil(free_port()).start()
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        client = EthereumClient(anvil.url)
        infra = deploy_safe_infra(client, dev_account(0))
        with tempfile.TemporaryDirectory() as directory, FakeTelegram(long_poll_cap=10) as telegram:
            gov = build_governance(w3, client, infra, Path(directory))
            samples = asyncio.run(measure(gov, telegram, runs))
    finally:
        anvil.stop()
    from_message = sorted(s[0] * 1000 for s in samples)
    from_delivery = sorted(s[1] * 1000 for s in samples)

    def row(name: str, values: list[float]) -> str:
        p90 = values[max(0, round(0.9 * len(values)) - 1)]
        return (f"{name:<34} median {statistics.median(values):7.1f} ms   p90 {p90:7.1f} ms   "
                f"min {values[0]:7.1f} ms   max {values[-1]:7.1f} ms")  # fmt: skip

    print(f"bot latency: last signature -> 'executed' edit, {len(samples)} runs (anvil automine, 2-of-3 Safe)")
    print(row("from the /sign message", from_message))
    print(row("from its delivery (getUpdates)", from_delivery))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
