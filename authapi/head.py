"""Follow the chain head for the block cache: poll eth_blockNumber, and say how long a head stays usable."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .batching import BatchingRpc
from .cache import BlockCache
from .jsonrpc import RpcError, quantity

log = logging.getLogger("authapi")

HEAD_POLL_INTERVAL = 0.5


class HeadFollower:
    """Poll the node's head every `interval` seconds and keep `cache` on it.

    A head is usable for 2 x `interval` after the poll that reported it was sent. While polls
    succeed, the next one comes one interval later, so the head stays usable; a poll that is slow
    or fails lets it lapse, and then `current()` is None and requests read the chain directly
    (failing closed if the node cannot be read). So a cached answer reflects the chain as it was at
    most 2 x `interval` ago: it can miss the blocks of that window, at most one block on a chain
    whose blocks come slower than that.
    """

    def __init__(self, rpc: BatchingRpc, cache: BlockCache, *, interval: float, timeout: float) -> None:
        self.rpc = rpc
        self.cache = cache
        self.interval = interval
        self.timeout = timeout
        self.polls = 0  # eth_blockNumber calls made, to tell them from per-request calls (tests, bench)
        self._sent_at = -float("inf")  # loop time of the poll that reported cache.block
        self._task: asyncio.Task[None] | None = None
        self._polled = asyncio.Event()

    def current(self) -> int | None:
        """Return the head to answer at, or None when no poll reported one recently enough."""
        self._start()
        if self.cache.block is None or self._loop_time() - self._sent_at > 2 * self.interval:
            return None
        return self.cache.block

    async def poll_once(self) -> int:
        """Ask the node for its head once, and move the cache to it; raise RpcError on doubt."""
        sent_at = self._loop_time()
        self.polls += 1
        async with asyncio.timeout(self.timeout):
            (result,) = await self.rpc.batch([("eth_blockNumber", [])])
        head = quantity(result)
        self.cache.observe(head)  # a new block, a reorg or an evm_revert: the cached answers go
        self._sent_at = max(self._sent_at, sent_at)
        self._polled.set()
        return head

    async def wait_past(self, block: int | None) -> int:
        """Return the head once a poll has reported one other than `block` (for tests and the bench)."""
        self._start()
        while self.cache.block == block or self.cache.block is None:
            self._polled.clear()
            await self._polled.wait()
        return self.cache.block

    def _start(self) -> None:
        # Started by the first request, not by the ASGI lifespan: every server (and test client)
        # sends requests, not all of them run the lifespan.
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.poll_once()
            except (RpcError, TimeoutError) as exc:
                reason = exc.reason if isinstance(exc, RpcError) else f"no answer within {self.timeout:g} s"
                log.warning("head poll failed: %s (rpc %s); cache unused until a poll works", reason, self.rpc.label)
            except Exception as exc:
                debugging = log.isEnabledFor(logging.DEBUG)
                log.error("head poll failed unexpectedly (%s)", type(exc).__name__, exc_info=debugging)
            await asyncio.sleep(max(0.0, started + self.interval - loop.time()))

    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()

    async def aclose(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
