"""Several JSON-RPC endpoints behind one URL: the healthiest is asked first, the next on failure.

web3's HTTPProvider and safe-eth-py's EthereumClient both post through one `requests.Session` (the
client hands its session to its providers, and its batch calls use it directly). So failover lives
at that layer: a transport adapter mounted on the session for the placeholder `FAILOVER_URL`. Every
request to that URL is sent to the real endpoints in health order:

- a connection error, a timeout, HTTP 429 or a 5xx moves on to the next endpoint;
- any other answer (a JSON-RPC error included: the node did answer) is returned as it is;
- one call never takes longer than the timeout its caller gave: each attempt gets an equal share of
  what is left, so a node that accepts connections and never answers costs its share, not the call.

Endpoints are ranked by health (foundation/endpoints.py, shared with the webhook).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from foundation.endpoints import EndpointPool

# Never resolves (RFC 2606): were the adapter not mounted, a request would fail at once, not leak.
FAILOVER_URL = "http://rpc-endpoints.invalid/"
# Connecting takes one round trip; a node that cannot accept a connection in this long is not worth waiting for.
CONNECT_TIMEOUT_CAP = 3.0
# Retrying the same request on another node is safe: reads are idempotent, and a raw transaction is the
# same signed bytes everywhere (a second node answers "already known" or takes it; the hash is the same).
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


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
        last_error: Exception | None = None
        for attempt in self.pool.attempts(budget):
            endpoint, share = attempt.endpoint, attempt.seconds
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
            if response.status_code in _RETRY_STATUSES and not attempt.last:
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
        raise type(last_error)(f"no RPC endpoint answered ({len(self.pool)} tried): {type(last_error).__name__}")

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
