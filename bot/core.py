"""Run the synchronous governance core (web3, SQLAlchemy) off the event loop.

Blocking calls run in a small thread pool. Writes also take one lock, shared with the HTTP API when both
run in one process: the executor key has a single account nonce, and the signature that meets
the threshold executes inside its own call.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from proposals.service import GovernanceService

P = ParamSpec("P")
T = TypeVar("T")


class Core:
    """The governance service, callable from coroutines without blocking the loop."""

    def __init__(
        self, service: GovernanceService, *, write_lock: threading.Lock | None = None, workers: int = 8
    ) -> None:
        self.service = service
        self.write_lock = write_lock or threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gov-core")
        self._closed = False

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call that needs no write lock (reads, the bot's own tables) in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a core call that changes state, one at a time (soon Unavailable if another process locks the db)."""

        def locked() -> T:
            # A database locked by another process fails fast (Unavailable, after the service's write bound,
            # the API's too) instead of holding the write lock, which the API shares, for the store's 30 s.
            with self.write_lock, self.service.lock_wait():
                return fn(*args, **kwargs)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, locked)

    async def close(self) -> None:
        """Wait for every running core call to finish, then stop the pool."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True)
