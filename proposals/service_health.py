"""What operations ask the service for: is the database there, how each RPC endpoint fares, what is queued.

Mixed into GovernanceService, so /readyz and /metrics reach the store and the chain client only
through the facade, like every other front end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from foundation.endpoints import EndpointStats
from proposals.errors import Unavailable
from proposals.models import ProposalState
from proposals.rpc_endpoints import endpoint_pool
from proposals.tx_outbox import OutboxStatus

if TYPE_CHECKING:
    from safe_eth.eth import EthereumClient

    from proposals.store.base import Store


class HealthReports:
    """Mixed into GovernanceService: readiness and metrics facts."""

    client: EthereumClient
    store: Store

    def check_database(self) -> None:
        """Run one cheap query; raise Unavailable when the database does not answer."""
        try:
            self.store.count_proposals(states=[ProposalState.PENDING])
        except Exception as exc:  # any failure means "not ready"; the caller logs, never shows, the cause
            raise Unavailable("the database does not answer") from exc

    def rpc_endpoints(self) -> list[EndpointStats]:
        """Return each RPC endpoint's label (host only), health and counts of requests and errors."""
        pool = endpoint_pool(self.client.http_session)
        return pool.stats() if pool is not None else []

    def outbox_backlog(self) -> int:
        """Return how many signatures wait to be posted to the Safe Transaction Service."""
        return len(self.store.tx_service_entries(statuses=[OutboxStatus.PENDING]))
