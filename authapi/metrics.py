"""The webhook's /metrics: how long each bootAuth answer took, by route (a Prometheus histogram).

One registry per app. Observing costs a lock and a few additions per request: nothing next to the
RPC round trip each answer needs.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# A cached answer takes well under a millisecond; one that waits out the RPC timeout takes seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class WebhookMetrics:
    """The request-duration histogram of one webhook app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        durations = Histogram("dstack_gov_webhook_request_seconds", "Time to answer a bootAuth request, by route.",
                              ["route"], buckets=BUCKETS, registry=self.registry)  # fmt: skip
        # Bound once: a label lookup per request would cost more than the observation.
        self._routes = {False: durations.labels("/bootAuth/app"), True: durations.labels("/bootAuth/kms")}

    def observe(self, for_kms: bool, seconds: float) -> None:
        """Record how long one bootAuth answer took."""
        self._routes[for_kms].observe(seconds)

    def render(self) -> bytes:
        """Return the metrics in the Prometheus text format (0.0.4)."""
        return generate_latest(self.registry)
