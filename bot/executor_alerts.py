"""The executor watch: one group message when its balance falls below the threshold, one when it is funded.

Every poll_interval the job asks the service for the executor's balance (proposals/executor_funds.py
decides whether this look crossed the threshold, and remembers it in the store, so a restart or a
second replica does not say it again). Only a crossing is posted: a balance that stays low is quiet.
The fee ceiling needs nothing here: a proposal held back by it says so on its own announcement.
"""

from __future__ import annotations

import logging

from bot import jobs
from bot.core import Core
from bot.markup import code
from bot.outbox import Outbox
from bot.settings import BotSettings
from proposals.errors import GovernanceError
from proposals.executor_funds import BalanceCheck

log = logging.getLogger(__name__)


def ether(wei: int) -> str:
    """Return `wei` in ether, to 4 decimals."""
    return f"{wei / 10**18:,.4f}".rstrip("0").rstrip(".")


def balance_text(check: BalanceCheck) -> str:
    """Return the warning (or the all-clear) for a balance that just crossed the threshold."""
    held = f"{code(check.address)} holds {ether(check.balance)} ETH"
    if check.crossed == "low":
        return (f"⚠️ <b>Executor balance low</b>: {held}, below {ether(check.threshold)} ETH "
                "([executor] low_balance_eth). Fund it, or approved proposals will stop executing.")  # fmt: skip
    return f"✅ <b>Executor funded</b>: {held}, above {ether(check.threshold)} ETH again."


async def check_balance(core: Core, outbox: Outbox, settings: BotSettings) -> BalanceCheck | None:
    """Read the executor's balance and post to every Safe's chat when it just crossed the threshold."""
    try:
        check = await core.write(core.service.check_executor_balance)
    except GovernanceError as exc:
        log.info("executor balance: %s", exc.message)
        return None
    if check is None or check.crossed is None:
        return check
    text = balance_text(check)
    for chat in sorted(settings.allowed_chats):
        await outbox.send(chat, text)
    return check


async def watch_executor() -> None:
    """The scheduled balance check (module-level: the job store keeps a reference to it)."""
    async with jobs._job("watch-executor") as host:
        if host is None:
            return
        await check_balance(host.core, host.outbox, host.settings)
