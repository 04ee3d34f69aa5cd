"""Read boot verdicts and the status page from the KMS contract, one JSON-RPC batch per request."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from foundation.deadline import within

from .batching import BatchingRpc
from .cache import BlockCache
from .contract import KmsCalls
from .head import HeadFollower
from .jsonrpc import RpcError, eth_call, hex_data, quantity
from .request import BootAuthRequest

T = TypeVar("T")
# Verdicts are cached under the request's raw body; a larger one (many advisory ids) is not kept.
MAX_KEYED_BODY = 4096


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
        head: HeadFollower | None = None,
        calls: KmsCalls | None = None,
    ) -> None:
        self.rpc = rpc
        self.kms_address = kms_address
        self.timeout = timeout
        self.head = head
        self._calls = calls or KmsCalls.from_abi()
        self._gateway_calldata = self._calls.gateway_app_id.calldata()
        self._implementation_calldata = self._calls.app_implementation.calldata()

    async def verdict(self, for_kms: bool, request: BootAuthRequest, body: bytes | None = None) -> Verdict:
        """Return isKmsAllowed/isAppAllowed and gatewayAppId, read together; raise RpcError on doubt.

        With the block cache, `body` (the request's raw JSON, which fixes `request` exactly) keys the
        verdict, so a repeat at the same head costs neither encoding nor a round trip.
        """
        pin = self._pin()
        key = (for_kms, body) if pin is not None and body is not None and len(body) <= MAX_KEYED_BODY else None
        if pin is not None and key is not None and isinstance(hit := pin[0].lookup(key), Verdict):
            return hit
        check = self._calls.boot_calldata(for_kms, request)
        verdict_data, gateway_data = await self._within_deadline(self._read(pin, [check, self._gateway_calldata]))
        allowed, reason = self._calls.decode_verdict(for_kms, verdict_data)
        verdict = Verdict(allowed, reason, self._calls.decode_gateway_app_id(gateway_data))
        if pin is not None and key is not None:
            pin[0].store(pin[1], key, verdict)
        return verdict

    def cached_verdict(self, for_kms: bool, body: bytes) -> Verdict | None:
        """Return the verdict cached at the current head for exactly this raw body, if any.

        Only a body that passed validation is ever stored, so a hit may skip parsing it again.
        """
        pin = self._pin()
        if pin is None or len(body) > MAX_KEYED_BODY:
            return None
        hit = pin[0].lookup((for_kms, body))
        return hit if isinstance(hit, Verdict) else None

    def _pin(self) -> tuple[BlockCache, int] | None:
        """Return the cache and the head to answer at, or None to read the latest block directly."""
        if self.head is None or (head := self.head.current()) is None:
            return None
        return self.head.cache, head

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
            async with within(self.timeout):
                return await work
        except TimeoutError:
            raise RpcError(f"no answer from the RPC node within {self.timeout:g} s") from None

    async def _read(self, pin: tuple[BlockCache, int] | None, calldatas: list[str]) -> list[bytes]:
        """Return the eth_call results of `calldatas` on the KMS contract: from `pin`, else at the latest block."""
        if pin is None:
            results = await self.rpc.batch([eth_call(self.kms_address, c) for c in calldatas])
            return [hex_data(r) for r in results]
        cache, head = pin
        known = {c: hit for c in calldatas if isinstance(hit := cache.lookup(c), bytes)}
        missing = [c for c in calldatas if c not in known]
        if missing:
            # At exactly the head the cache is keyed on, not at "latest", which may have moved on.
            results = await self.rpc.batch([eth_call(self.kms_address, c, hex(head)) for c in missing])
            for calldata, result in zip(missing, results, strict=True):
                known[calldata] = data = hex_data(result)
                cache.store(head, calldata, data)
        return [known[c] for c in calldatas]

    async def aclose(self) -> None:
        """Stop following the head, end the POSTs in flight, close the connections."""
        if self.head is not None:
            await self.head.aclose()
        await self.rpc.aclose()
