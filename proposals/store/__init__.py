"""Persistence for proposals: the Store contract and its SQLAlchemy implementation.

    store = open_store("sqlite:///dstack-gov.db")        # or postgresql://user@host/db
    store.create_proposal(new, actor="telegram:42")

`open_store` upgrades the schema first; `migrate` does only that (for deploy scripts).
"""

from __future__ import annotations

from proposals.clock import utc_now

from .base import Store
from .schema import migrate
from .sql import SqlStore, open_store

__all__ = ["SqlStore", "Store", "migrate", "open_store", "utc_now"]
