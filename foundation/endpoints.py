"""RPC endpoints ranked by health, for failover: the core's requests adapter and the webhook share it.

Each endpoint has a penalty: +1 per failure, halved by a success, plus how slow the answer was
(a fraction of the time allowed), and it decays with time (half-life `HALF_LIFE_SECONDS`), so a node
that failed is tried first again once it has been quiet for a while and the others fare worse.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .redaction import protect_url, redact_url

HALF_LIFE_SECONDS = 60.0


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint as metrics and /readyz show it (the label never holds a credential)."""

    label: str
    health: float
    requests: int
    errors: Mapping[str, int]


class _Endpoint:
    def __init__(self, url: str, label: str) -> None:
        self.url = url
        self.label = label
        self.penalty = 0.0
        self.stamp = time.monotonic()
        self.requests = 0
        self.errors: Counter[str] = Counter()

    def decayed(self, now: float) -> float:
        return self.penalty * 0.5 ** ((now - self.stamp) / HALF_LIFE_SECONDS)

    def settle(self, now: float, penalty: float) -> None:
        self.penalty, self.stamp = penalty, now


def endpoint_labels(urls: Sequence[str]) -> list[str]:
    """Return a log- and metric-safe name per URL: scheme://host[:port], numbered when two share it."""
    labels = [redact_url(url) for url in urls]
    seen: Counter[str] = Counter(labels)
    counts: Counter[str] = Counter()
    named = []
    for label in labels:
        counts[label] += 1
        named.append(f"{label}#{counts[label]}" if seen[label] > 1 else label)
    return named


@dataclass(frozen=True)
class Attempt:
    """One try of a request: the endpoint, the seconds it may take, and whether another comes after it."""

    endpoint: _Endpoint
    seconds: float
    last: bool


class EndpointPool:
    """The endpoints and their health; thread-safe (the bot, the jobs and the API share one client)."""

    def __init__(self, urls: Sequence[str], *, clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("at least one RPC endpoint is needed")
        for url in urls:
            protect_url(url)  # urllib3 and web3 log request URLs at DEBUG, keys included
        self._endpoints = [_Endpoint(url, label) for url, label in zip(urls, endpoint_labels(urls), strict=True)]
        self._clock = clock
        self._lock = threading.Lock()

    def ordered(self) -> list[_Endpoint]:
        """Return the endpoints, healthiest first (ties keep the configured order)."""
        now = self._clock()
        with self._lock:
            ranked = sorted(enumerate(self._endpoints), key=lambda item: (round(item[1].decayed(now), 3), item[0]))
        return [endpoint for _, endpoint in ranked]

    def attempts(self, budget: float) -> Iterator[Attempt]:
        """Yield the endpoints healthiest first, each given an equal share of what is left of `budget` seconds.

        A node that accepts connections and never answers then costs its share, not the whole request.
        """
        deadline = time.monotonic() + budget
        endpoints = self.ordered()
        for position, endpoint in enumerate(endpoints):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            remaining = len(endpoints) - position
            yield Attempt(endpoint, left / remaining, last=remaining == 1)

    def __len__(self) -> int:
        return len(self._endpoints)

    def succeeded(self, endpoint: _Endpoint, seconds: float, budget: float) -> None:
        """Count an answer; a slow one keeps a little penalty, so a faster node is preferred."""
        now = self._clock()
        with self._lock:
            endpoint.requests += 1
            endpoint.settle(now, endpoint.decayed(now) / 2 + min(1.0, seconds / max(budget, 1e-3)))

    def failed(self, endpoint: _Endpoint, kind: str) -> None:
        """Count a failure of `kind` (connection, timeout, http_5xx, http_429)."""
        now = self._clock()
        with self._lock:
            endpoint.requests += 1
            endpoint.errors[kind] += 1
            endpoint.settle(now, endpoint.decayed(now) + 1.0)

    def stats(self) -> list[EndpointStats]:
        """Return each endpoint's label, health in (0, 1], request count and errors by kind."""
        now = self._clock()
        with self._lock:
            return [
                EndpointStats(e.label, 1.0 / (1.0 + e.decayed(now)), e.requests, dict(e.errors))
                for e in self._endpoints
            ]
