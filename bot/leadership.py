"""Replicas of `dstack-gov run` elect one leader through their database (the lock: proposals.store.leadership).

A follower tries the lock every TRY_INTERVAL seconds. The leader checks every HEARTBEAT_INTERVAL
that it still holds it, and stops leading as soon as a check fails or none has succeeded for
`depose_after` seconds (less than the ~10 s after which the server frees the lock of a silent
session), so two replicas never both believe they lead.
"""

from __future__ import annotations

import asyncio

from proposals.store.leadership import LeaderLock

TRY_INTERVAL = 1.0
HEARTBEAT_INTERVAL = 1.0


class Campaign:
    """Win the leader lock, then hold it for as long as the database vouches for it."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        try_interval: float = TRY_INTERVAL,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> None:
        self.lock = lock
        self.try_interval = try_interval
        self.heartbeat_interval = heartbeat_interval
        self.depose_after = lock.depose_after

    async def win(self) -> None:
        """Return once this replica holds the lock (a follower waits here)."""
        while not await asyncio.to_thread(self.lock.try_acquire):  # noqa: ASYNC110 - the lock is in the database
            await asyncio.sleep(self.try_interval)

    async def hold(self) -> str:
        """Check the lock until it is lost; return why it was."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                held = await asyncio.wait_for(asyncio.to_thread(self.lock.heartbeat), self.depose_after)
            except TimeoutError:
                return f"the database did not confirm the lock for {self.depose_after:.0f} s"
            if not held:
                return "the lock's database session ended"
