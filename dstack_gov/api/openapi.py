"""The OpenAPI schema: FastAPI's, completed with what our handlers and middleware do that it cannot see.

- Request validation answers 400 `{"error": ...}` (errors.py), so FastAPI's default 422 entries go.
- A route that checks the bearer token (auth.require_token, whose HTTPBearer marks it) gets its 401 and 403.
- A route that takes a body can get 408 (too slow) and 413 (too large) from BodyLimit.
- Every route can answer 500 `internal error` (CatchAll).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .limits import BODY_TIMEOUT_SECONDS
from .responses import ErrorBody

ERROR_REF = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}
ERRORS = {
    400: "Bad request: a malformed id, query or body, or a change the core refuses (the first problem).",
    401: "Missing or wrong bearer token (`WWW-Authenticate: Bearer`).",
    403: "Writes are disabled: the server has no [api] token.",
    404: "No such proposal.",
    408: f"The body did not arrive within {BODY_TIMEOUT_SECONDS:g} s; the connection is closed.",
    409: "The proposal's state forbids it (already signed, wrong state, nonce used, stored actions disagree).",
    413: "The body is larger than the server's limit.",
    422: "The chain refused: a call or the transaction reverted.",
    500: "Internal error; the details are in the server log only.",
    503: "The chain or the database is unavailable (Retry-After when the database is locked).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return `responses=` entries documenting these statuses with the one error body."""
    return {code: {"model": ErrorBody, "description": ERRORS[code]} for code in codes}


def _error(code: int) -> dict[str, Any]:
    return {"description": ERRORS[code], "content": {"application/json": {"schema": ERROR_REF}}}


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    default_422 = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if default_422.get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    added = [500]
    if operation.get("security"):
        added += [401, 403]
    if "requestBody" in operation:
        added += [408, 413]
    for code in added:
        responses.setdefault(str(code), _error(code))
    for status, response in responses.items():
        if int(status) >= 400:  # errors are JSON whatever the route answers when it succeeds (/metrics: text)
            schemas = [body["schema"] for body in response.get("content", {}).values() if "schema" in body]
            response["content"] = {"application/json": {"schema": schemas[0] if schemas else ERROR_REF}}
    operation["responses"] = dict(sorted(responses.items()))
    operation["summary"] = operation.get("description", "").strip().splitlines()[0]


def build_schema(app: FastAPI) -> dict[str, Any]:
    """Return the app's complete OpenAPI schema."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path in schema["paths"].values():
        for operation in path.values():
            _complete(operation)
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.setdefault(ErrorBody.__name__, ErrorBody.model_json_schema())
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve build_schema's output at the app's openapi_url (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
