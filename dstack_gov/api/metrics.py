"""/metrics through prometheus_client: counters fed by the service's notifications, gauges read at scrape time.

Each API instance has its own registry (tests build many). What a scrape reads never touches the
chain: proposal counts come from the store, RPC errors and endpoint health from the failover pool's
own counters, the executor balance from the last balance check, the role from foundation.health.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from foundation.health import HEALTH, ProcessHealth
from proposals.models import ProposalState
from proposals.service import GovernanceService

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# The *_created series double every counter and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]
# Signature -> executed takes a block or two when all is well, minutes under a fee ceiling or confirmations.
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
# Proposals whose last signature this process saw, waiting for their execution (bounded: old ones drop).
MAX_TRACKED = 10_000
_ENDED = frozenset(s.value for s in (ProposalState.CANCELLED, ProposalState.SUPERSEDED, ProposalState.EXPIRED))


class _ScrapeTime(Collector):
    """The gauges and counters whose values live elsewhere: read when Prometheus scrapes."""

    def __init__(self, service: GovernanceService, health: ProcessHealth) -> None:
        self.service = service
        self.health = health

    def collect(self) -> Iterator[Metric]:
        service = self.service
        states = GaugeMetricFamily("dstack_gov_proposals", "Proposals in the store, by state.", labels=["state"])
        for state, count in service.counts_by_state().items():
            states.add_metric([state.value], count)
        yield states
        yield GaugeMetricFamily("dstack_gov_open_proposal_signatures", "Signatures held by open proposals.",
                                value=service.open_signature_count())  # fmt: skip
        yield from self._rpc()
        role = self.health.role
        leader = GaugeMetricFamily("dstack_gov_leader", "1 when this process leads (or runs alone), 0 when it "
                                   "follows.", labels=["role"])  # fmt: skip
        leader.add_metric([role], 0 if role == "follower" else 1)
        yield leader
        balance = service.last_executor_balance()
        if balance is not None:
            yield GaugeMetricFamily("dstack_gov_executor_balance_wei", "The executor's balance at its last check.",
                                    value=balance.balance)  # fmt: skip
            yield GaugeMetricFamily("dstack_gov_executor_balance_low", "1 while below [executor] low_balance_eth.",
                                    value=int(balance.low and balance.threshold > 0))  # fmt: skip
        yield GaugeMetricFamily("dstack_gov_outbox_backlog", "Signatures waiting to be posted to the Safe "
                                "Transaction Service.", value=service.outbox_backlog())  # fmt: skip

    def _rpc(self) -> Iterator[Metric]:
        endpoints = self.service.rpc_endpoints()
        requests = CounterMetricFamily("dstack_gov_rpc_requests", "JSON-RPC requests sent, by endpoint (host only).",
                                       labels=["endpoint"])  # fmt: skip
        errors = CounterMetricFamily("dstack_gov_rpc_errors", "JSON-RPC requests that failed over, by endpoint "
                                     "and kind.", labels=["endpoint", "kind"])  # fmt: skip
        health = GaugeMetricFamily("dstack_gov_rpc_endpoint_health", "Endpoint health in (0, 1]: 1 is healthy.",
                                   labels=["endpoint"])  # fmt: skip
        for endpoint in endpoints:
            requests.add_metric([endpoint.label], endpoint.requests)
            health.add_metric([endpoint.label], endpoint.health)
            for kind, count in sorted(endpoint.errors.items()):
                errors.add_metric([endpoint.label, kind], count)
        yield from (requests, errors, health)


class Metrics:
    """One API instance's registry; subscribe `on_event` to the service."""

    def __init__(self, service: GovernanceService, health: ProcessHealth = HEALTH) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.created = Counter("dstack_gov_proposals_created", "Proposals created by this process.",
                               registry=self.registry)  # fmt: skip
        self.signatures = Counter("dstack_gov_signatures", "Signatures this process got, by result.", ["result"],
                                  registry=self.registry)  # fmt: skip
        self.executions = Counter("dstack_gov_executions", "Executions this process recorded, by outcome.",
                                  ["outcome"], registry=self.registry)  # fmt: skip
        self.latency = Histogram("dstack_gov_signature_to_executed_seconds", "From the last signature this "
                                 "process took to the execution it recorded (final, after confirmations).",
                                 buckets=LATENCY_BUCKETS, registry=self.registry)  # fmt: skip
        for result in ("accepted", "refused"):
            self.signatures.labels(result)
        for outcome in (ProposalState.EXECUTED.value, ProposalState.FAILED.value):
            self.executions.labels(outcome)
        self.registry.register(_ScrapeTime(service, health))
        self._lock = threading.Lock()
        self._signed_at: dict[int, float] = {}

    def on_event(self, proposal_id: int, event: str) -> None:
        """Count one service notification (subscribe this to the service)."""
        if event == "created":
            self.created.inc()
        elif event == "signature":
            self.signatures.labels("accepted").inc()
            with self._lock:
                self._signed_at.pop(proposal_id, None)  # keep insertion order = age, for the bound below
                self._signed_at[proposal_id] = time.monotonic()
                if len(self._signed_at) > MAX_TRACKED:
                    self._signed_at.pop(next(iter(self._signed_at)))
        elif event in (ProposalState.EXECUTED.value, ProposalState.FAILED.value):
            self.executions.labels(event).inc()
            with self._lock:
                signed = self._signed_at.pop(proposal_id, None) if event == ProposalState.EXECUTED.value else None
            if signed is not None:
                self.latency.observe(time.monotonic() - signed)
        elif event in _ENDED:
            with self._lock:
                self._signed_at.pop(proposal_id, None)

    def signature_refused(self) -> None:
        """Count a signature the API refused."""
        self.signatures.labels("refused").inc()

    def render(self) -> bytes:
        """Return every metric in the Prometheus text format (0.0.4)."""
        return generate_latest(self.registry)
