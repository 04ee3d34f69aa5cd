"""Time bounds for awaits that nearly always finish at once: `async with within(seconds)`.

It behaves like `asyncio.timeout`: the block's task is cancelled at the deadline and the block
raises TimeoutError, while any other cancellation passes through untouched. `asyncio.timeout` arms a
loop timer on entry and cancels it on exit, 5 to 10 µs under uvloop. A webhook request passes three
bounds (its body, its RPC round trip, the POST under it) and nearly always leaves each without
waiting, so at thousands of requests a second those timers were a tenth of the CPU. Here entering a
bound costs a dict insert: one timer per event loop ticks every RESOLUTION seconds while any bound is
open and expires those past their deadline, so a bound fires up to RESOLUTION late.
"""

from __future__ import annotations

import asyncio
import weakref
from types import TracebackType

RESOLUTION = 0.05


class _Ticker:
    """The open bounds of one event loop, and the one timer that expires them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.open: dict[Deadline, float] = {}
        self.handle: asyncio.TimerHandle | None = None

    def add(self, bound: Deadline, seconds: float) -> None:
        self.open[bound] = self.loop.time() + seconds
        if self.handle is None:
            self.handle = self.loop.call_later(RESOLUTION, self._tick)

    def _tick(self) -> None:
        self.handle = None
        now = self.loop.time()
        for bound, when in list(self.open.items()):
            if when <= now:
                del self.open[bound]
                bound.expire()
        if self.open:
            self.handle = self.loop.call_later(RESOLUTION, self._tick)


_tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = weakref.WeakKeyDictionary()


def _ticker(loop: asyncio.AbstractEventLoop | None = None) -> _Ticker:
    loop = loop or asyncio.get_running_loop()
    ticker = _tickers.get(loop)
    if ticker is None:
        ticker = _tickers[loop] = _Ticker(loop)
    return ticker


class Deadline:
    """One bound: entered by one task, expired at most once."""

    __slots__ = ("_cancelling", "_expired", "_seconds", "_task", "_ticker")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._expired = False

    async def __aenter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()  # cancellations requested before the block are not ours
        # From the task, not get_running_loop(): on Python 3.11 that one costs a getpid() system call.
        self._ticker = _ticker(task.get_loop())
        self._ticker.add(self, self._seconds)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._ticker.open.pop(self, None)
        # Only a cancellation this bound requested, and no other since, becomes a TimeoutError.
        if self._expired and self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    @property
    def expired(self) -> bool:
        """Tell whether the deadline passed while the block was running."""
        return self._expired

    def expire(self) -> None:
        """Cancel the block's task (the ticker calls this once the deadline has passed)."""
        self._expired = True
        self._task.cancel()


def within(seconds: float) -> Deadline:
    """Return a bound of `seconds` for an `async with` block (up to RESOLUTION seconds late)."""
    return Deadline(seconds)
