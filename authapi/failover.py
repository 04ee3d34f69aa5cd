"""Several RPC nodes behind one client: each batch goes to the healthiest, the next when a node fails.

The same policy as the core's requests adapter (proposals/rpc_endpoints.py), with the same health
ranking (foundation/endpoints.py):

- a timeout, a refused or dropped connection, HTTP 429 or a 5xx moves on to the next node;
- any other answer, a JSON-RPC error or a malformed batch included, stands: the node did answer,
  and the webhook fails closed on it rather than shopping for a kinder one;
- a batch never takes longer than the RPC timeout: each attempt gets an equal share of what is
  left, so a node that accepts connections and never answers costs its share, not the request;
- a node is asked for its chain id before its first batch, and one on another chain is never asked
  again. A KMS deployed by the same key at the same nonce has the same address on every chain, so a
  fallback URL pointing at a testnet would otherwise answer with the testnet's policy. The reference
  is `[chain] chain_id`, else the first node's chain once it has answered; until then only the first
  node is asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from foundation.deadline import within
from foundation.endpoints import EndpointPool, EndpointStats

from .jsonrpc import Call, RpcError, quantity, result_of
from .rpc import RpcClient

log = logging.getLogger("authapi")


class FailoverRpc:
    """Post JSON-RPC batches to the first of `urls` that answers, healthiest first."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float,
        chain_id: int | None = None,
        clients: Sequence[RpcClient] | None = None,
    ) -> None:
        self.timeout = timeout
        self.chain_id = chain_id
        self._endpoints = EndpointPool(urls)
        self._clients = dict(zip(urls, clients or [RpcClient(url, timeout=timeout) for url in urls], strict=True))
        self._first = urls[0]
        self._verified: set[str] = set()
        self._wrong_chain: set[str] = set()
        # What GET / reports as its RPC URL: the first configured node, the one normally in use.
        self.label = self._endpoints.stats()[0].label

    async def post(self, calls: Sequence[Call]) -> list[dict[str, Any]]:
        """Return the answer entries of `calls` from the first node that answers; raise RpcError if none does."""
        last: RpcError | None = None
        for attempt in self._endpoints.attempts(self.timeout):
            endpoint = attempt.endpoint
            if endpoint.url in self._wrong_chain:
                continue
            started = time.monotonic()
            try:
                async with within(attempt.seconds):
                    if endpoint.url not in self._verified:
                        await self._verify_chain(endpoint.url, endpoint.label)
                    entries = await self._clients[endpoint.url].post(calls)
            except TimeoutError:
                last = RpcError("RPC node timed out", node_failure="timeout")
            except RpcError as exc:
                if exc.node_failure is None:
                    self._endpoints.succeeded(endpoint, time.monotonic() - started, self.timeout)
                    raise  # the node answered; its answer stands
                last = exc
            else:
                self._endpoints.succeeded(endpoint, time.monotonic() - started, self.timeout)
                return entries
            assert last.node_failure is not None
            self._endpoints.failed(endpoint, last.node_failure)
            then = "" if attempt.last else "; trying the next"
            log.warning("RPC node %s failed (%s)%s", endpoint.label, last.reason, then)
        reason = last.reason if last is not None else f"no time left within {self.timeout:g} s"
        raise RpcError(f"no RPC node answered ({len(self._endpoints)} tried): {reason}")

    async def _verify_chain(self, url: str, label: str) -> None:
        """Ask the node for its chain id; raise RpcError (a node failure) unless it is the expected chain."""
        if self.chain_id is None and url != self._first:
            raise RpcError("chain id unknown until the first node answers", node_failure="unverified")
        try:
            (entry,) = await self._clients[url].post([("eth_chainId", [])])
            chain_id = quantity(result_of(entry))
        except RpcError as exc:
            raise RpcError(exc.reason, node_failure=exc.node_failure or "unverified") from None
        if self.chain_id is None:
            self.chain_id = chain_id  # the first node sets the reference for the others
        elif chain_id != self.chain_id:
            self._wrong_chain.add(url)
            log.error("RPC node %s serves chain %d, not %d: it is never asked again", label, chain_id, self.chain_id)
            raise RpcError(f"RPC node on chain {chain_id}, not {self.chain_id}", node_failure="wrong_chain")
        self._verified.add(url)

    def stats(self) -> list[EndpointStats]:
        """Return each node's label, health, request count and failures by kind."""
        return self._endpoints.stats()

    async def aclose(self) -> None:
        """Close every node's connections."""
        for client in self._clients.values():
            await client.aclose()
