"""Assemble the FastAPI app: routes, the error handlers, the body limit and the catch-all."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from dstack_gov import __version__
from foundation.health import HEALTH, ProcessHealth
from proposals.service import GovernanceService

from . import linking, ops, page, routes
from .context import ApiContext
from .errors import CatchAll, install_error_handlers
from .limits import BODY_TIMEOUT_SECONDS, BodyLimit
from .metrics import Metrics
from .openapi import install_openapi
from .telegram import TelegramAuth

MAX_BODY_BYTES = 256 * 1024
ROUTERS = (ops.router, routes.router, page.router, linking.router)


def routed_app() -> FastAPI:
    """Return an app with every route, the error handlers and the OpenAPI schema, but no service yet.

    create_api builds on it; docs/api.md is rendered from its schema (dstack_gov.api.reference).
    """
    app = FastAPI(
        title="dstack-gov",
        version=__version__,
        description="The JSON API the Telegram bot, the signing page and the CLI share.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    return app


def create_api(
    service: GovernanceService,
    *,
    token: str | None,
    write_lock: threading.Lock | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    telegram: TelegramAuth | None = None,
    health: ProcessHealth = HEALTH,
) -> FastAPI:
    """Return the API over `service`; without a token every write endpoint answers 403.

    Pass `write_lock` to share one lock with other front ends running in the same process. A client
    that has not sent its whole body within `body_timeout` seconds gets 408 and a closed connection.
    With `telegram`, the signing page's Mini App initData is checked and its user recorded. `health` is
    what /readyz and /metrics read about this process (its role, its last Telegram contact).
    """
    app = routed_app()
    metrics = Metrics(service, health)
    service.subscribe(metrics.on_event)
    app.state.api = ApiContext(service, token or None, write_lock or threading.Lock(), metrics, telegram, health)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(CatchAll)  # added last, so outermost: it also sees BodyLimit's failures
    return app
