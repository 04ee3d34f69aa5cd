"""Bearer-token check for the write endpoints (signatures need none: they are verified on their own)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .context import api_context

WRITES_DISABLED = "API writes are disabled: set [api] token"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declared so the OpenAPI schema marks the routes that need the token; it never refuses anything itself.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearerToken", description="The [api] token; only writes need it.")


def require_token(request: Request, _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
    """Refuse the request unless it carries the configured bearer token."""
    expected = api_context(request).token
    if expected is None:
        raise HTTPException(403, WRITES_DISABLED)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)", headers=_CHALLENGE)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "invalid token", headers=_CHALLENGE)
