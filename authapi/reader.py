"""Read boot verdicts and the status page from the KMS contract, one JSON-RPC batch per request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from .batching import BatchingRpc
from .cache import BlockCache
from .contract import KmsCalls
from .jsonrpc import Call, RpcError, eth_call, hex_data, quantity
from .request import BootAuthRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    """The contract's answer to one boot request, with the gateway app id read alongside it."""

    is_allowed: bool
    reason: str
    gateway_app_id: str


@dataclass(frozen=True)
class KmsStatus:
    """What GET / reports about the KMS contract and its chain."""

    chain_id: int
    gateway_app_id: str
    app_implementation: str


class KmsReader:
    """Ask one KMS contract (any contract with the dstack interface) through one RPC client."""

    def __init__(
        self,
        rpc: BatchingRpc,
        kms_address: str,
        *,
        timeout: float,
        cache: BlockCache | None = None,
        calls: KmsCalls | None = None,
    ) -> None:
        self.rpc = rpc
        self.kms_address = kms_address
        self.timeout = timeout
        self.cache = cache
        self._calls = calls or KmsCalls.from_abi()
        self._gateway_calldata = self._calls.gateway_app_id.calldata()
        self._implementation_calldata = self._calls.app_implementation.calldata()

    async def verdict(self, for_kms: bool, request: BootAuthRequest) -> Verdict:
        """Return isKmsAllowed/isAppAllowed and gatewayAppId, read together; raise RpcError on doubt."""
        check = self._calls.boot_calldata(for_kms, request)
        verdict_data, gateway_data = await self._within_deadline(self._read([check, self._gateway_calldata]))
        allowed, reason = self._calls.decode_verdict(for_kms, verdict_data)
        return Verdict(allowed, reason, self._calls.decode_gateway_app_id(gateway_data))

    async def status(self) -> KmsStatus:
        """Return the chain id, gatewayAppId and appImplementation, read in one batch."""
        calls = [
            ("eth_chainId", []),
            eth_call(self.kms_address, self._gateway_calldata),
            eth_call(self.kms_address, self._implementation_calldata),
        ]
        chain_id, gateway, implementation = await self._within_deadline(self.rpc.batch(calls))
        return KmsStatus(
            chain_id=quantity(chain_id),
            gateway_app_id=self._calls.decode_gateway_app_id(hex_data(gateway)),
            app_implementation=self._calls.decode_app_implementation(hex_data(implementation)),
        )

    async def _within_deadline(self, work: Awaitable[T]) -> T:
        """Await `work`, all its round trips included, for at most the RPC timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                return await work
        except TimeoutError:
            raise RpcError(f"no answer from the RPC node within {self.timeout:g} s") from None

    async def _read(self, calldatas: list[str]) -> list[bytes]:
        """Return the eth_call results of `calldatas` on the KMS contract, at the latest block."""
        if self.cache is None:
            results = await self.rpc.batch([eth_call(self.kms_address, c) for c in calldatas])
            return [hex_data(r) for r in results]
        return await self._read_through_cache(self.cache, calldatas)

    async def _read_through_cache(self, cache: BlockCache, calldatas: list[str]) -> list[bytes]:
        """Serve from `cache` only what the head, read in the same batch, proves current."""
        pinned = cache.block
        known: dict[str, bytes] = {}
        missing: list[str] = []
        calls: list[Call] = [("eth_blockNumber", [])]
        if pinned is not None:
            known = {c: r for c in calldatas if (r := cache.lookup(c)) is not None}
            # Missing results are read at the pinned block, not at "latest": a node may run batch
            # entries in any order, so only an explicit block number ties a result to the head it is
            # keyed on.
            missing = [c for c in calldatas if c not in known]
            calls += [eth_call(self.kms_address, c, hex(pinned)) for c in missing]
        results = await self.rpc.batch(calls)
        head = quantity(results[0])
        cache.observe(head)
        if head == pinned:
            fresh = dict(zip(missing, map(hex_data, results[1:]), strict=True))
        else:
            # The head is not the pinned block (a new block, a reorg, or the first read): one more round
            # trip, at the head just reported, which is no older than the head when the request arrived.
            results = await self.rpc.batch([eth_call(self.kms_address, c, hex(head)) for c in calldatas])
            fresh = dict(zip(calldatas, map(hex_data, results), strict=True))
            known = {}
        for calldata, data in fresh.items():
            cache.store(head, calldata, data)
        return [known[c] if c in known else fresh[c] for c in calldatas]
