"""The ASGI app: GET /, POST /bootAuth/app and POST /bootAuth/kms, failing closed on any doubt."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import httpx
from pydantic import ValidationError
from starlette.types import Receive, Scope

from foundation.bounded import ParseError, check_json_depth
from foundation.redaction import install_log_redaction
from foundation.request_body import BodyTimeout, ClientGone

from .asgi import App, Reply, route
from .batching import BatchingRpc, BatchPoster
from .body import BODY_TIMEOUT_SECONDS, read_json_body
from .cache import BlockCache
from .failover import FailoverRpc
from .head import HeadFollower
from .jsonrpc import RpcError
from .metrics import METRICS_CONTENT_TYPE, WebhookMetrics
from .reader import KmsReader
from .request import BootAuthRequest
from .responses import (
    BACKEND_UNAVAILABLE_BODY,
    INVALID_REQUEST_BODY,
    STATUS_ERROR_BODY,
    status_body,
    verdict_body,
)
from .rpc import RpcClient
from .settings import Settings

log = logging.getLogger("authapi")

INVALID_REQUEST = Reply(400, INVALID_REQUEST_BODY)
# Connection: close makes uvicorn drop the connection instead of waiting for the rest of the body.
SLOW_CLIENT = Reply(408, INVALID_REQUEST_BODY, headers=((b"connection", b"close"),))
BACKEND_UNAVAILABLE = Reply(200, BACKEND_UNAVAILABLE_BODY)
STATUS_ERROR = Reply(500, STATUS_ERROR_BODY)


class Webhook:
    """The handlers, sharing one KMS reader."""

    def __init__(
        self, reader: KmsReader, *, body_timeout: float = BODY_TIMEOUT_SECONDS, metrics: WebhookMetrics | None = None
    ) -> None:
        self.reader = reader
        self.body_timeout = body_timeout
        self.metrics = metrics or WebhookMetrics()

    async def on_status(self, scope: Scope, receive: Receive) -> Reply:
        """Answer GET / with the KMS contract's status, or 500 when the chain cannot be read."""
        try:
            status = await self.reader.status()
        except RpcError as exc:
            log.warning("status check failed: %s (rpc %s)", exc.reason, self.reader.rpc.label)
            return STATUS_ERROR
        except Exception as exc:
            log.error("status check failed unexpectedly (%s)", type(exc).__name__, exc_info=_debugging())
            return STATUS_ERROR
        return Reply(200, status_body(status, self.reader.kms_address, self.reader.rpc.label))

    async def on_boot_app(self, scope: Scope, receive: Receive) -> Reply:
        """Answer POST /bootAuth/app from the KMS contract's isAppAllowed."""
        return await self._boot(scope, receive, for_kms=False)

    async def on_boot_kms(self, scope: Scope, receive: Receive) -> Reply:
        """Answer POST /bootAuth/kms from the KMS contract's isKmsAllowed."""
        return await self._boot(scope, receive, for_kms=True)

    async def on_metrics(self, scope: Scope, receive: Receive) -> Reply:
        """Answer GET /metrics: how long bootAuth answers take (Prometheus text format)."""
        return Reply(200, self.metrics.render(), METRICS_CONTENT_TYPE.encode())

    async def _boot(self, scope: Scope, receive: Receive, *, for_kms: bool) -> Reply:
        started = time.perf_counter()
        try:
            return await self._answer(scope, receive, for_kms=for_kms)
        finally:
            self.metrics.observe(for_kms, time.perf_counter() - started)

    async def _answer(self, scope: Scope, receive: Receive, *, for_kms: bool) -> Reply:
        what = "kms" if for_kms else "app"
        body = await self._body(scope, receive, what)
        if isinstance(body, Reply):
            return body
        if not _debugging() and (hit := self.reader.cached_verdict(for_kms, body)) is not None:
            return Reply(200, verdict_body(hit))  # the same bytes validated and answered earlier at this head
        try:
            check_json_depth(body)  # the same bound as every JSON input, before any parser sees it
            boot = BootAuthRequest.model_validate_json(body)
        except ParseError as exc:
            log.info("bootAuth/%s: invalid request (%s)", what, exc.reason)
            return INVALID_REQUEST
        except ValidationError as exc:
            log.info("bootAuth/%s: invalid request (%s)", what, _first_error(exc))
            return INVALID_REQUEST
        try:
            verdict = await self.reader.verdict(for_kms, boot, body)
        except RpcError as exc:
            log.warning("bootAuth/%s failed closed: %s (rpc %s)", what, exc.reason, self.reader.rpc.label)
            return BACKEND_UNAVAILABLE
        except Exception as exc:
            log.error("bootAuth/%s failed closed unexpectedly (%s)", what, type(exc).__name__, exc_info=_debugging())
            return BACKEND_UNAVAILABLE
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "bootAuth/%s app=0x%s instance=0x%s allowed=%s reason=%r",
                what, boot.app_id.hex(), boot.instance_id.hex(), verdict.is_allowed, verdict.reason,
            )  # fmt: skip
        return Reply(200, verdict_body(verdict))

    async def _body(self, scope: Scope, receive: Receive, what: str) -> bytes | Reply:
        """Return the request body, or the reply that refuses it."""
        try:
            body = await read_json_body(scope, receive, within=self.body_timeout)
        except BodyTimeout as exc:
            log.info("bootAuth/%s: refused a slow client: %s", what, exc)
            return SLOW_CLIENT
        except ClientGone:
            # Nobody is left to answer; one line, not an ASGI traceback.
            log.info("bootAuth/%s: the client disconnected before sending its whole body", what)
            return INVALID_REQUEST
        if body is None:
            log.info("bootAuth/%s: refused a request that is too large or not JSON", what)
            return INVALID_REQUEST
        return body


def _debugging() -> bool:
    return log.isEnabledFor(logging.DEBUG)


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def freeze_startup_heap() -> None:
    """Collect once, then keep everything allocated so far out of every later collection."""
    # The modules behind the webhook (web3, eth_abi, pydantic, starlette) leave a large heap that
    # lives as long as the process. Each full collection walked all of it: a pause of 50 to 80 ms
    # for every request in flight, a few times a minute under load, and most of the p99 at
    # concurrency 64. Frozen, a full collection only walks what requests allocated.
    gc.collect()
    gc.freeze()


def _poster(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> BatchPoster:
    """Return the client of the one node, or FailoverRpc: over several nodes, or to check one's chain id."""
    urls = (settings.rpc_url, *settings.fallback_rpc_urls)
    clients = [RpcClient(url, timeout=settings.rpc_timeout, transport=transport) for url in urls]
    if len(clients) == 1 and settings.chain_id is None:
        return clients[0]  # nothing to check the node against, nothing to fail over to
    return FailoverRpc(urls, timeout=settings.rpc_timeout, chain_id=settings.chain_id, clients=clients)


def create_app(settings: Settings, *, rpc_transport: httpx.AsyncBaseTransport | None = None) -> App:
    """Build the webhook app for `settings`; `rpc_transport` replaces the network (tests)."""
    rpc = BatchingRpc(_poster(settings, rpc_transport))
    head = None
    if settings.block_cache:
        head = HeadFollower(rpc, BlockCache(), interval=settings.head_poll_interval, timeout=settings.rpc_timeout)
    reader = KmsReader(rpc, settings.kms_address, timeout=settings.rpc_timeout, head=head)
    webhook = Webhook(reader, body_timeout=settings.body_timeout, metrics=WebhookMetrics())

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        # httpx and uvicorn log request URLs (the RPC key included) at DEBUG, whoever set up logging.
        unredact = install_log_redaction()
        freeze_startup_heap()
        try:
            yield
        finally:
            await reader.aclose()
            gc.unfreeze()
            unredact()

    routes = {
        "/": route(webhook.on_status, "GET"),
        "/bootAuth/app": route(webhook.on_boot_app, "POST"),
        "/bootAuth/kms": route(webhook.on_boot_kms, "POST"),
        "/metrics": route(webhook.on_metrics, "GET"),
    }
    return App(routes, lifespan=lifespan, state=SimpleNamespace(webhook=webhook))
