"""Assemble the FastAPI app: routes, the error handlers, the body limit and the catch-all."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from dstack_gov import __version__
from proposals.service import GovernanceService

from . import linking, ops, page, routes
from .context import ApiContext
from .errors import CatchAll, install_error_handlers
from .limits import BODY_TIMEOUT_SECONDS, BodyLimit
from .metrics import Metrics
from .telegram import TelegramAuth

MAX_BODY_BYTES = 256 * 1024


def create_api(
    service: GovernanceService,
    *,
    token: str | None,
    write_lock: threading.Lock | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    telegram: TelegramAuth | None = None,
) -> FastAPI:
    """Return the API over `service`; without a token every write endpoint answers 403.

    Pass `write_lock` to share one lock with other front ends running in the same process. A client
    that has not sent its whole body within `body_timeout` seconds gets 408 and a closed connection.
    With `telegram`, the signing page's Mini App initData is checked and its user recorded.
    """
    app = FastAPI(
        title="dstack-gov",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    metrics = Metrics()
    service.subscribe(metrics.on_event)
    app.state.api = ApiContext(service, token or None, write_lock or threading.Lock(), metrics, telegram)
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(routes.router)
    app.include_router(page.router)
    app.include_router(linking.router)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(CatchAll)  # added last, so outermost: it also sees BodyLimit's failures
    return app
