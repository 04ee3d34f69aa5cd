"""The signing page: `/sign/<id>` (HTML), its one module and one stylesheet, and the typed-data download.

Everything comes from this origin; the Content-Security-Policy says so, and lets only Telegram's web
client frame the page (the Mini App). Inside Telegram the script reads `#tgWebAppData` from the URL
fragment itself, so no third-party script is loaded either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from proposals.errors import GovernanceError
from proposals.models import MAX_ID

from .context import Context
from .page_html import message_page, proposal_page, typed_data_name

ASSETS = Path(__file__).resolve().parent.parent / "page"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors https://web.telegram.org"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_TYPES = {"sign.js": "text/javascript; charset=utf-8", "sign.css": "text/css; charset=utf-8"}
# Read once: the page is served from memory and a missing asset fails at startup, not per request.
_ASSETS = {name: (ASSETS / name).read_bytes() for name in _TYPES}
router = APIRouter(include_in_schema=False)


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _proposal_id(text: str) -> int | None:
    """Return the id in the path, or None for anything that is not one (the page then says so)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


@router.get("/sign", response_model=None)
def on_index(start: Annotated[str | None, Query(alias="tgWebAppStartParam", max_length=64)] = None) -> Response:
    """Open the proposal a Mini App direct link names (`?startapp=<id>`), else say how to open one."""
    proposal_id = _proposal_id(start or "")
    if proposal_id is not None:
        # The browser keeps the #tgWebAppData fragment across the redirect.
        return RedirectResponse(f"/sign/{proposal_id}", status_code=303, headers=SECURITY_HEADERS)
    return _html(message_page("Sign a proposal", "Open a proposal from its announcement: tap its Sign button."), 404)


@router.get("/sign/{proposal_id}", response_model=None)
def on_page(proposal_id: str, context: Context) -> HTMLResponse:
    """Render one proposal's signing page (its facts in the HTML; the script only adds the wallet)."""
    number = _proposal_id(proposal_id)
    if number is None:
        return _html(message_page("No such proposal", f"There is no proposal #{proposal_id[:40]}."), 404)
    try:
        view = context.service.view(number)
    except GovernanceError as exc:
        title = "No such proposal" if exc.http_status == 404 else f"Proposal #{number} cannot be shown"
        return _html(message_page(title, exc.message), exc.http_status)
    telegram = context.telegram
    return _html(proposal_page(view, link_enabled=telegram is not None and telegram.linker is not None))


@router.get("/sign/{proposal_id}/typed-data.json", response_model=None)
def on_typed_data_file(proposal_id: str, context: Context) -> Response:
    """Download the EIP-712 typed data as the file `cast wallet sign --data --from-file` takes."""
    number = _proposal_id(proposal_id)
    if number is None:
        return JSONResponse({"error": f"no proposal #{proposal_id[:40]}"}, status_code=404)
    typed = context.service.typed_data(number)
    disposition = f'attachment; filename="{typed_data_name(number)}"'
    return JSONResponse(typed, headers={**SECURITY_HEADERS, "Content-Disposition": disposition})


@router.get("/static/{name}", response_model=None)
def on_asset(name: str) -> Response:
    """Serve the page's module and stylesheet."""
    body = _ASSETS.get(name)
    if body is None:
        return JSONResponse({"error": f"no asset {name[:40]}"}, status_code=404)
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type=_TYPES[name], headers=headers)
