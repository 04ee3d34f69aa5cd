"""The facade's Safe Transaction Service side: sync passes, deep links into Safe{Wallet}, competing proposals.

GovernanceService inherits these. Sync is off (every method a no-op) unless the composition root passes
a `TxServiceConfig`; everything else works the same without it.

    report = service.sync_tx_service()          # the CLI's reconcile: push, pull, push
    fetched = service.fetch_tx_service()        # the bot: read without its write lock ...
    report = service.apply_tx_service(fetched)  # ... then write with it
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from proposals.lifecycle import Lifecycle
from proposals.models import OPEN_STATES, Proposal
from proposals.safe_wallet import SafeWalletLinks
from proposals.store.base import Store
from proposals.tx_service import TxServiceClient
from proposals.tx_service_push import PushSettings, TxServicePush
from proposals.tx_service_sync import Fetched, SyncReport, TxServicePull, competing_pairs

if TYPE_CHECKING:
    from proposals.service import GovernanceService


@dataclass(frozen=True)
class TxServiceConfig:
    """What sync needs: the service's client, the push's backoff and delegate, Safe{Wallet}'s links."""

    client: TxServiceClient
    push: PushSettings = field(default_factory=PushSettings)
    links: SafeWalletLinks = field(default_factory=SafeWalletLinks)


class TxServiceOperations:
    """Safe Transaction Service sync and Safe{Wallet} links, as GovernanceService methods."""

    store: Store
    lifecycle: Lifecycle
    clock: Callable[[], datetime]
    _tx_pull: TxServicePull | None = None
    _tx_push: TxServicePush | None = None
    _safe_wallet: SafeWalletLinks | None = None

    def _start_tx_service(self, config: TxServiceConfig | None) -> None:
        """Wire sync in (called once by the constructor); the push hears every change."""
        if config is None:
            return
        service: GovernanceService = self  # type: ignore[assignment]
        self._tx_pull = TxServicePull(service, config.client)
        self._tx_push = TxServicePush(service, config.client, config.push, self._tx_pull.listed)
        self._safe_wallet = config.links
        self.lifecycle.subscribe(self._tx_push.on_change)

    @property
    def tx_service_enabled(self) -> bool:
        """Return True when Safe Transaction Service sync is configured."""
        return self._tx_pull is not None

    def sync_tx_service(self) -> SyncReport:
        """Run one whole sync pass: post what is due, read every Safe's queue and apply it, post again."""
        report = self.push_tx_service()
        report.merge(self.apply_tx_service(self.fetch_tx_service()))
        return report.merge(self.push_tx_service())

    def fetch_tx_service(self) -> list[Fetched]:
        """Read every Safe's pending queue from the service (no database writes)."""
        return self._tx_pull.fetch() if self._tx_pull is not None else []

    def apply_tx_service(self, fetched: Sequence[Fetched]) -> SyncReport:
        """Import, confirm, flag competitors and queue from what `fetch_tx_service` read."""
        return self._tx_pull.apply(fetched) if self._tx_pull is not None else SyncReport()

    def push_tx_service(self) -> SyncReport:
        """Post the due outbox entries (HTTP and outbox bookkeeping only)."""
        return self._tx_push.push() if self._tx_push is not None else SyncReport()

    def safe_wallet_url(self, proposal: Proposal) -> str | None:
        """Return the proposal's page in Safe{Wallet}, while sync is on and the chain has a short name."""
        if self._safe_wallet is None:
            return None
        return self._safe_wallet.link(proposal.safe_tx.chain_id, proposal.safe, proposal.safe_tx_hash)

    def competing_with(self, proposal: Proposal) -> tuple[int, ...]:
        """Return the open proposals at the same Safe and nonce that compete with this open one."""
        if proposal.state not in OPEN_STATES:
            return ()
        same = self.store.list_proposals(safe=proposal.safe, nonce=proposal.nonce, states=OPEN_STATES)
        pairs = competing_pairs(same)
        return tuple(sorted({b if a == proposal.id else a for a, b in pairs if proposal.id in (a, b)}))

    def view_extras(self, proposal: Proposal) -> dict[str, Any]:
        """Return what a view adds from here: competing proposals and the Safe{Wallet} link."""
        return {"competing": self.competing_with(proposal), "safe_wallet_url": self.safe_wallet_url(proposal)}
