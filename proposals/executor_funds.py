"""The executor's money: a fee ceiling it waits under, and a balance it warns about once per crossing.

Fees: with `[executor] max_fee_gwei`, an execution whose next block's base fee is above the ceiling
is not claimed. The proposal stays approved, the front ends are told once (the `fees-high` event; the
announcement then says why it waits), and every reconciliation pass tries again, so it executes as
soon as fees drop. The sender never offers more than the ceiling either (contracts/sender.py).

Balance: `check_executor_balance` compares the executor's balance with `[executor] low_balance_eth`.
Whether it was low is kept in the store (a cursor), so the warning goes out once when the balance
falls below, once when it is funded again, whichever process or replica looks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from eth_typing import ChecksumAddress

from proposals.errors import Unavailable, translate_chain_errors
from proposals.models import Proposal

if TYPE_CHECKING:
    from web3 import Web3

    from proposals.execution import Executor
    from proposals.lifecycle import Lifecycle
    from proposals.service import ServiceSettings
    from proposals.store.base import Store

log = logging.getLogger(__name__)
GWEI = 10**9
BALANCE_CURSOR = "executor-balance-low"


def gwei(wei: int) -> str:
    """Return `wei` in gwei, as people read fees (up to 3 decimals)."""
    return f"{wei / GWEI:,.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class FeeWait:
    """An execution held back: the next block's base fee is above the executor's ceiling."""

    base_fee: int
    ceiling: int

    def describe(self) -> str:
        """Return the reason in words."""
        return (f"the network's base fee is {gwei(self.base_fee)} gwei, above the executor's ceiling of "
                f"{gwei(self.ceiling)} gwei ([executor] max_fee_gwei); it executes once fees drop")  # fmt: skip


class FeesTooHigh(Unavailable):
    """Executing now would cost more per gas than the executor may pay."""

    def __init__(self, wait: FeeWait) -> None:
        super().__init__(f"execution waits: {wait.describe()}")
        self.wait = wait


@dataclass(frozen=True)
class BalanceCheck:
    """The executor's balance against the low-balance threshold, and whether this look crossed it."""

    address: ChecksumAddress
    balance: int
    threshold: int
    crossed: Literal["low", "restored"] | None = None

    @property
    def low(self) -> bool:
        return self.balance < self.threshold


class ExecutorFunds:
    """Mixed into GovernanceService: the fee wait before a claim, and the balance check."""

    executor: Executor | None
    w3: Web3
    store: Store
    lifecycle: Lifecycle
    settings: ServiceSettings

    def _fee_waits(self) -> dict[int, FeeWait]:
        # Per process: only the process that executes (the leader) holds proposals back.
        waits: dict[int, FeeWait] = self.__dict__.setdefault("_fee_wait_by_id", {})
        return waits

    def fee_wait(self, proposal_id: int) -> FeeWait | None:
        """Return why the proposal's execution waits for fees, if it does."""
        return self._fee_waits().get(proposal_id)

    def defer_for_fees(self, proposal: Proposal) -> None:
        """Raise FeesTooHigh while the next block's base fee is above the ceiling; tell the front ends once."""
        ceiling = self.executor.sender.max_fee_per_gas if self.executor is not None else None
        if ceiling is None:
            return  # no ceiling: no extra round trip
        with translate_chain_errors("reading the network fee"):
            # The last entry is the next block's base fee (eth_feeHistory includes the pending block).
            base_fee = int(self.w3.eth.fee_history(1, "latest", [])["baseFeePerGas"][-1])
        waits = self._fee_waits()
        if base_fee <= ceiling:
            if waits.pop(proposal.id, None) is not None:
                log.info("proposal %s: fees dropped to %s gwei; executing", proposal.id, gwei(base_fee))
            return
        wait = FeeWait(base_fee, ceiling)
        if proposal.id not in waits:
            waits[proposal.id] = wait
            self.store.record(proposal.id, actor="executor", event="execution-deferred",
                              detail={"baseFee": base_fee, "ceiling": ceiling})  # fmt: skip
            self.lifecycle.notify(proposal.id, "fees-high")
        raise FeesTooHigh(wait)

    def check_executor_balance(self) -> BalanceCheck | None:
        """Read the executor's balance; `crossed` says when it just fell below the threshold or rose above it."""
        if self.executor is None:
            return None
        address, threshold = self.executor.address, self.settings.low_balance_wei
        with translate_chain_errors("reading the executor's balance"):
            balance = int(self.w3.eth.get_balance(address))
        check = BalanceCheck(address, balance, threshold)
        self.__dict__["_last_balance"] = check
        was_low = bool(self.store.get_cursor(BALANCE_CURSOR))
        if threshold <= 0 or check.low == was_low:  # 0: warnings off
            return check
        self.store.set_cursor(BALANCE_CURSOR, int(check.low))
        self.store.record(None, actor="executor", event="executor-balance-low" if check.low else "executor-funded",
                          detail={"address": address, "balance": balance, "threshold": threshold})  # fmt: skip
        return BalanceCheck(address, balance, threshold, "low" if check.low else "restored")

    def last_executor_balance(self) -> BalanceCheck | None:
        """Return the balance the last check read (for metrics: a scrape sends no RPC), if any."""
        last: BalanceCheck | None = self.__dict__.get("_last_balance")
        return last
