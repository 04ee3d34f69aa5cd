"""Composition for `dstack-gov run` replicas: this process's leader lock on the configured database."""

from __future__ import annotations

import os
import socket

from dstack_gov.config import Config
from proposals.store.leadership import LeaderLock, claim_leadership


def claim_replica(config: Config) -> LeaderLock:
    """Return the leader lock (PostgreSQL: elected; SQLite: Conflict when another `run` uses the file).

    The label shows in pg_stat_activity.application_name, so `who leads?` is one query away.
    """
    return claim_leadership(config.database.url, label=f"dstack-gov run {socket.gethostname()} pid {os.getpid()}")
