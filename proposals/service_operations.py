"""The facade's operational side: the audit log, counts for metrics, chain health, database waits, shutdown.

GovernanceService inherits these, so front ends (the API's /metrics, /healthz and /api/audit, the CLI's
`audit`, the servers' shutdown) ask the service and never reach the store or the chain behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.execution import Executor
from proposals.models import OPEN_STATES, AuditEntry, ProposalState
from proposals.store.base import Store
from proposals.store.engine import WRITE_LOCK_WAIT, lock_wait

# Open proposals looked at when counting their signatures; far more than any Safe ever has open.
MAX_OPEN_COUNTED = 10_000


@dataclass(frozen=True)
class ChainHead:
    """Where the chain the service reads is now."""

    chain_id: int
    block_number: int


class ServiceOperations:
    """Read-mostly operations of GovernanceService that no proposal flow needs."""

    store: Store
    w3: Web3
    executor: Executor | None
    # The key stand_by() put aside: a replica that does not lead holds it and sends nothing.
    _parked_executor: Executor | None = None

    def stand_by(self) -> None:
        """Send no executor transactions until take_over(): a follower replica, or a leader that lost its lock."""
        if self.executor is not None:
            self._parked_executor, self.executor = self.executor, None

    def take_over(self) -> None:
        """Execute again with the key stand_by() put aside (this replica now leads)."""
        if self._parked_executor is not None:
            self.executor, self._parked_executor = self._parked_executor, None

    @property
    def executes(self) -> bool:
        """Return True when this service sends executions (it holds an executor key and is not standing by)."""
        return self.executor is not None

    def executor_address(self) -> ChecksumAddress | None:
        """Return the executor key's address, standing by or not (None without a key)."""
        key = self.executor or self._parked_executor
        return None if key is None else key.address

    def audit(self, proposal_id: int | None = None) -> list[AuditEntry]:
        """Return the audit log, oldest first: all of it, or one proposal's (NotFound for an unknown id)."""
        if proposal_id is not None:
            self.store.get(proposal_id)  # an unknown proposal is NotFound, not an empty log
        return self.store.audit(proposal_id=proposal_id)

    def counts_by_state(self) -> dict[ProposalState, int]:
        """Return how many proposals are in each state (every state, zeros included)."""
        return {state: self.store.count_proposals(states=[state]) for state in ProposalState}

    def open_signature_count(self) -> int:
        """Return how many signatures the open proposals hold."""
        open_ = self.store.list_proposals(states=OPEN_STATES, limit=MAX_OPEN_COUNTED)
        return sum(len(self.store.signatures(p.id)) for p in open_)

    def chain_head(self) -> ChainHead:
        """Read the chain id and the latest block number (raises when the chain is unreachable)."""
        return ChainHead(int(self.w3.eth.chain_id), int(self.w3.eth.block_number))

    @contextmanager
    def lock_wait(self, seconds: float = WRITE_LOCK_WAIT) -> Iterator[None]:
        """Within the block, a database locked by another process fails after `seconds` (Unavailable).

        The default is the front ends' write bound (WRITE_LOCK_WAIT), shared by the API and the bot.
        """
        with lock_wait(seconds):
            yield

    def close(self) -> None:
        """Release the database connections (the service is unusable afterwards)."""
        self.store.close()
