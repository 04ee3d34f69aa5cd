"""What every endpoint reaches through the request: the service, the token, the write lock, the metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from foundation.health import HEALTH, ProcessHealth
from proposals.service import GovernanceService

from .metrics import Metrics

if TYPE_CHECKING:
    from .telegram import TelegramAuth


@dataclass(frozen=True)
class ApiContext:
    """Shared state of one API instance."""

    service: GovernanceService
    token: str | None
    # Writes go one at a time: the executor key has one account nonce, and a signature
    # that meets the threshold executes inside the request.
    writes: threading.Lock
    metrics: Metrics
    telegram: TelegramAuth | None = None  # trusts Mini App initData (the signing page inside Telegram)
    health: ProcessHealth = HEALTH  # this process's role and last Telegram contact (/readyz)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Take the write lock; inside, a database locked by another process fails fast (503, Retry-After)."""
        # The service's short write bound (not the store's 30 s) while the write lock is held. The lock itself
        # is awaited without a bound: the request ahead may be an execution waiting for its receipt.
        with self.writes, self.service.lock_wait():
            yield


def api_context(request: Request) -> ApiContext:
    """Return the context that create_api stored on the app."""
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(api_context)]
