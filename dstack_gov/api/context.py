"""What every endpoint reaches through the request: the service, the token, the write lock, the metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from proposals.service import GovernanceService

from .metrics import Metrics


@dataclass(frozen=True)
class ApiContext:
    """Shared state of one API instance."""

    service: GovernanceService
    token: str | None
    # Writes go one at a time: the executor key has one account nonce, and a signature
    # that meets the threshold executes inside the request.
    writes: threading.Lock
    metrics: Metrics


def api_context(request: Request) -> ApiContext:
    """Return the context that create_api stored on the app."""
    context: ApiContext = request.app.state.api
    return context


Context = Annotated[ApiContext, Depends(api_context)]
