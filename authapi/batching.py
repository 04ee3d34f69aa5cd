"""Share HTTP POSTs between concurrent requests: each request's calls travel in one JSON-RPC batch.

A request's calls are never split, and are sent after the request arrived, so sharing a POST never
makes an answer older. Identical calls in one POST (gatewayAppId, eth_blockNumber) are asked once.
When no POST is out, a request's POST leaves at once, from its own task (no hand-over to a
shared one: at concurrency 1 that saved about 5 % of each answer's time). While one is out, requests that arrive wait
(POST_SPACING at most) and leave together in the next; at most MAX_IN_FLIGHT POSTs are out, so a
stuck one delays nobody else for long. Few, full POSTs save CPU and give the node fewer, fuller
batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .jsonrpc import Call, RpcError, call_key, result_of

log = logging.getLogger("authapi")

MAX_IN_FLIGHT = 4
# While a POST is out, the next one waits this long to collect more requests: on a busy local node
# few, full POSTs save the most CPU; on a slow remote node it delays a request by this much at most.
POST_SPACING = 0.002
# Providers cap batch sizes (often at 100 or 1000 calls); stay under the common limits.
MAX_BATCH_CALLS = 100


class BatchPoster(Protocol):
    """What posts the batches: one node (rpc.RpcClient) or several with failover (failover.FailoverRpc)."""

    label: str

    async def post(self, calls: Sequence[Call]) -> list[dict[str, Any]]:
        """Send `calls` in one HTTP POST; return their answer entries in order."""
        ...

    async def aclose(self) -> None:
        """Close the connections."""
        ...


@dataclass(frozen=True)
class _Waiter:
    calls: Sequence[Call]
    future: asyncio.Future[list[Any]]


class BatchingRpc:
    """Send each request's calls in one POST, shared with the other requests waiting at that moment."""

    def __init__(
        self,
        client: BatchPoster,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_batch_calls: int = MAX_BATCH_CALLS,
        post_spacing: float = POST_SPACING,
    ) -> None:
        self.client = client
        self.label = client.label
        self._max_in_flight = max_in_flight
        self._max_batch_calls = max_batch_calls
        self._post_spacing = post_spacing
        self._last_post = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._queue: deque[_Waiter] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Return the results of `calls`, in order, all read in one HTTP POST; raise RpcError on doubt."""
        if self._closed:
            raise RpcError("shutting down")
        if not self._in_flight and not self._queue:
            return await self._post_alone(calls)
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiter(calls, future))
        self._start_posts()
        return await future

    async def _post_alone(self, calls: Sequence[Call]) -> list[Any]:
        """Send one request's calls from its own task: with no POST out, there is nobody to share one with."""
        self._in_flight += 1
        self._last_post = time.monotonic()
        try:
            entries = await self.client.post(calls)
        except RpcError:
            if self._closed:  # aclose() closed the connection under this POST
                raise RpcError("shutting down") from None
            raise
        except Exception as exc:  # noqa: BLE001 - logged by _unexpected
            raise RpcError(_unexpected(exc)) from None
        finally:
            self._in_flight -= 1
            if self._queue:
                self._start_posts()
        return [result_of(entry) for entry in entries]

    def _start_posts(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue and self._in_flight < self._max_in_flight and not self._closed:
            wait = self._last_post + self._post_spacing - time.monotonic() if self._in_flight else 0.0
            if wait > 0:
                if self._timer is None:
                    self._timer = loop.call_later(wait, self._on_timer)
                return
            waiters = self._take()
            if not waiters:
                return
            self._last_post = time.monotonic()
            self._in_flight += 1
            task = loop.create_task(self._post(waiters))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _on_timer(self) -> None:
        self._timer = None
        self._start_posts()

    def _take(self) -> list[_Waiter]:
        """Pop the waiting requests that fit in one batch, skipping those that gave up (timed out)."""
        taken: list[_Waiter] = []
        size = 0
        while self._queue:
            waiter = self._queue[0]
            if waiter.future.done():
                self._queue.popleft()
                continue
            if taken and size + len(waiter.calls) > self._max_batch_calls:
                break
            taken.append(self._queue.popleft())
            size += len(waiter.calls)
        return taken

    async def _post(self, waiters: list[_Waiter]) -> None:
        calls, slots = _merge(waiters)
        try:
            entries = await self.client.post(calls)
        except RpcError as exc:
            _fail(waiters, exc.reason)
        except asyncio.CancelledError:
            _fail(waiters, "shutting down")
            raise
        except Exception as exc:  # noqa: BLE001 - logged by _unexpected
            _fail(waiters, _unexpected(exc))
        else:
            for waiter, slot in zip(waiters, slots, strict=True):
                if waiter.future.done():
                    continue
                try:
                    waiter.future.set_result([result_of(entries[i]) for i in slot])
                except RpcError as exc:
                    waiter.future.set_exception(exc)
        finally:
            self._in_flight -= 1
            self._start_posts()

    async def aclose(self) -> None:
        """Stop posting, end the POSTs in flight (their requests fail closed), close the connections."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        _fail(list(self._queue), "shutting down")
        self._queue.clear()
        await self.client.aclose()


def _merge(waiters: Sequence[_Waiter]) -> tuple[list[Call], list[list[int]]]:
    """Return the distinct calls of `waiters`, and for each waiter the positions of its calls."""
    calls: list[Call] = []
    position: dict[Hashable, int] = {}
    slots: list[list[int]] = []
    for waiter in waiters:
        slot = []
        for call in waiter.calls:
            key = call_key(call)
            if key not in position:
                position[key] = len(calls)
                calls.append(call)
            slot.append(position[key])
        slots.append(slot)
    return calls, slots


def _unexpected(exc: Exception) -> str:
    """Log a failure no RpcError describes (a defect), and return the reason the requests fail with."""
    log.error("RPC batch failed unexpectedly (%s)", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
    return f"unexpected {type(exc).__name__} while asking the RPC node"


def _fail(waiters: Sequence[_Waiter], reason: str) -> None:
    for waiter in waiters:
        if not waiter.future.done():
            waiter.future.set_exception(RpcError(reason))
