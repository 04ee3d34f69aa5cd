"""What this process knows about its own health, for /readyz and /metrics: its role, and its last contacts.

Several packages report here and the HTTP API reads it, none importing another: the bot's outbox says
whether its last Telegram call got through, and the replicas' leader election says whether this
process leads (`set_leader`). Nothing here is read from the network at scrape time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

Role = Literal["leader", "follower", "single"]


@dataclass(frozen=True)
class Contact:
    """The last attempt to reach one dependency: whether it answered, why not, and when (monotonic seconds)."""

    ok: bool
    detail: str
    at: float


class ProcessHealth:
    """The role and last contacts of one process (thread-safe; the bot, jobs and API threads all report)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._role: Role = "single"
        self._contacts: dict[str, Contact] = {}

    @property
    def role(self) -> Role:
        """Return "leader" or "follower" among replicas, or "single" when no election runs."""
        return self._role

    def set_role(self, role: Role) -> None:
        """Record this process's role among replicas."""
        with self._lock:
            self._role = role

    def report(self, dependency: str, ok: bool, detail: str = "") -> None:
        """Record whether the last attempt to reach `dependency` (e.g. "telegram") got an answer."""
        with self._lock:
            self._contacts[dependency] = Contact(ok, detail, time.monotonic())

    def contact(self, dependency: str) -> Contact | None:
        """Return the last attempt to reach `dependency`, or None when this process never tried."""
        with self._lock:
            return self._contacts.get(dependency)


# The process's own record; tests build their own ProcessHealth and hand it in instead.
HEALTH = ProcessHealth()


def set_leader(leading: bool, health: ProcessHealth = HEALTH) -> None:
    """Record that this replica now leads (True) or follows (False); /metrics shows it as dstack_gov_leader."""
    health.set_role("leader" if leading else "follower")
