"""Webhook mode: Telegram posts updates to a route served next to the HTTP API."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp
from telegram import Update

from bot.context import GovApplication
from foundation.bounded import ParseError, loads_json

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024


def webhook_secret(token: str) -> str:
    """Derive the secret Telegram echoes in every webhook call (it reveals nothing about the token)."""
    return hashlib.sha256(b"dstack-gov telegram webhook\x00" + token.encode()).hexdigest()


def webhook_path(url: str) -> str:
    """Return the path part of the public webhook URL (the route to serve)."""
    path = urlsplit(url).path
    return path if path.startswith("/") and len(path) > 1 else "/telegram/webhook"


def webhook_routes(
    application: GovApplication,
    path: str,
    secret: str,
    inner: ASGIApp | None,
    deliver: Callable[[Update], Awaitable[None]] | None = None,
) -> Starlette:
    """Return an app serving the webhook at `path` and, under it, `inner` (the HTTP API) at /.

    `deliver` takes each update (replicas keep it in the database: bot.intake); by default it is queued.
    """
    take = deliver or application.update_queue.put

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
        try:
            # Bounded: json.loads recurses in C, and a deep body must not reach it (foundation.bounded).
            update = Update.de_json(loads_json(body, max_bytes=MAX_UPDATE_BYTES), application.bot)
        except ParseError as exc:
            log.warning("ignored a webhook update: %s", exc.reason)
            return Response(status_code=400)
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed webhook update")
            return Response(status_code=400)
        await take(update)
        return Response(status_code=200)

    routes: list[Route | Mount] = [Route(path, receive, methods=["POST"])]
    if inner is not None:
        routes.append(Mount("/", app=inner))
    return Starlette(routes=routes)
