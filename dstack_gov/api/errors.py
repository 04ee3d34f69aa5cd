"""One place that turns every failure into `{"error": "<one line>"}`; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.validation import first_problem
from proposals.errors import GovernanceError

log = logging.getLogger("dstack_gov.api")
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return the one error shape every endpoint uses."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    """Say in one line which field is wrong and why (the first problem only)."""
    if not exc.errors():
        return "invalid request"
    problem = first_problem(exc, sources=_LOCATIONS)
    if problem.kind == "json_invalid":
        return "body: not valid JSON"
    return problem.describe("request")


async def _on_governance_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovernanceError)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(exc.http_status, exc.message, headers)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, validation_message(exc))


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for domain errors, bad requests and HTTP errors (404, 405, auth)."""
    app.add_exception_handler(GovernanceError, _on_governance_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)


class CatchAll:
    """Log anything unexpected and answer 500 `internal error` (the details stay in the log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; turn an escaping exception into a generic 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, "internal error")(scope, receive, send)
