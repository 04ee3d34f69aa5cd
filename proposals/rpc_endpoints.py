"""Several JSON-RPC endpoints behind one URL: the healthiest is asked first, the next on failure.

web3's HTTPProvider and safe-eth-py's EthereumClient both post through one `requests.Session` (the
client hands its session to its providers, and its batch calls use it directly). So failover lives
at that layer: a transport adapter mounted on the session for the placeholder `FAILOVER_URL`. Every
request to that URL is sent to the real endpoints in health order:

- a connection error, a timeout, HTTP 429 or a 5xx moves on to the next endpoint;
- any other answer (a JSON-RPC error included: the node did answer) is returned as it is;
- one call never takes longer than the timeout its caller gave: each attempt gets an equal share of
  what is left, so a node that accepts connections and never answers costs its share, not the call.

Each endpoint has a penalty: +1 per failure, halved by a success, plus how slow the answer was
(a fraction of the timeout), and it decays with time (half-life `HALF_LIFE_SECONDS`), so a node that
failed is tried first again once it has been quiet for a while and the others fare worse.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from foundation.redaction import protect_url, redact_url

# Never resolves (RFC 2606): were the adapter not mounted, a request would fail at once, not leak.
FAILOVER_URL = "http://rpc-endpoints.invalid/"
HALF_LIFE_SECONDS = 60.0
# Connecting takes one round trip; a node that cannot accept a connection in this long is not worth waiting for.
CONNECT_TIMEOUT_CAP = 3.0
# Retrying the same request on another node is safe: reads are idempotent, and a raw transaction is the
# same signed bytes everywhere (a second node answers "already known" or takes it; the hash is the same).
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


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


def _seconds(timeout: Any) -> float:
    """Return the total a caller allows: requests takes a number or a (connect, read) pair."""
    if isinstance(timeout, tuple):
        return float(sum(t for t in timeout if t is not None)) or 10.0
    return float(timeout) if timeout is not None else 10.0


class FailoverAdapter(BaseAdapter):
    """A requests transport that sends each request to the pool's endpoints in health order."""

    def __init__(self, pool: EndpointPool) -> None:
        super().__init__()
        self.pool = pool
        self._http = HTTPAdapter(pool_connections=4, pool_maxsize=100, max_retries=0)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send `request` to the healthiest endpoint that answers within the caller's timeout."""
        budget = _seconds(timeout)
        deadline = time.monotonic() + budget
        endpoints = self.pool.ordered()
        last_error: Exception | None = None
        for position, endpoint in enumerate(endpoints):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            share = left / (len(endpoints) - position)
            started = time.monotonic()
            try:
                response = self._http.send(_aimed(request, endpoint.url), stream=stream,
                                           timeout=(min(CONNECT_TIMEOUT_CAP, share), share),
                                           verify=verify, cert=cert, proxies=proxies)  # fmt: skip
            except requests.Timeout as exc:
                self.pool.failed(endpoint, "timeout")
                last_error = exc
                continue
            except requests.ConnectionError as exc:
                self.pool.failed(endpoint, "connection")
                last_error = exc
                continue
            # HTTPError texts quote the URL: the caller's placeholder, never an endpoint's key.
            response.url, response.request = FAILOVER_URL, request
            if response.status_code in _RETRY_STATUSES and position < len(endpoints) - 1:
                self.pool.failed(endpoint, f"http_{response.status_code // 100}xx"
                                 if response.status_code >= 500 else "http_429")  # fmt: skip
                response.close()
                continue
            if response.status_code in _RETRY_STATUSES:
                self.pool.failed(endpoint, "http_5xx" if response.status_code >= 500 else "http_429")
            else:
                self.pool.succeeded(endpoint, time.monotonic() - started, budget)
            return response
        if last_error is None:
            last_error = requests.Timeout(f"no RPC endpoint answered within {budget:g} s")
        raise type(last_error)(f"no RPC endpoint answered ({len(endpoints)} tried): {type(last_error).__name__}")

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()


def _aimed(request: requests.PreparedRequest, url: str) -> requests.PreparedRequest:
    """Return a copy of `request` sent to `url`, with the userinfo of `url` as basic auth."""
    aimed = request.copy()
    aimed.prepare_url(url, None)
    if aimed.headers is not None:
        aimed.headers.pop("Authorization", None)
    aimed.prepare_auth(None, url)
    return aimed


def mount_endpoints(session: requests.Session, urls: Sequence[str]) -> EndpointPool:
    """Make `session` send requests for FAILOVER_URL to `urls` with failover; return their pool."""
    pool = EndpointPool(urls)
    session.mount(FAILOVER_URL, FailoverAdapter(pool))
    return pool


def endpoint_pool(session: requests.Session) -> EndpointPool | None:
    """Return the pool mounted on `session`, if any."""
    adapter = session.adapters.get(FAILOVER_URL)
    return adapter.pool if isinstance(adapter, FailoverAdapter) else None
