"""`/link` from the signing page in Telegram: the wallet signs the bot's challenge with personal_sign.

Only a Mini App knows who the Telegram user is (its initData, checked here), so both steps need it.
The proposal names the Safe, and so the signers' chat the link is for.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from proposals.catalogue import parse_address
from proposals.errors import InvalidInput, Unavailable
from proposals.models import MAX_ID

from .context import Context
from .models import MAX_SIGNATURE_CHARS
from .telegram import TelegramAuth, telegram_user

router = APIRouter(prefix="/api/telegram", default_response_class=JSONResponse, include_in_schema=False)


class LinkBody(BaseModel):
    """A link request from the page: the Mini App's initData, the proposal, the owner address."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    init_data: str = Field(alias="initData", min_length=1, max_length=4096)
    proposal: int = Field(ge=1, le=MAX_ID)
    owner: str = Field(max_length=64)
    signature: str = Field(default="", max_length=MAX_SIGNATURE_CHARS)


def _linker(auth: TelegramAuth | None) -> TelegramAuth:
    if auth is None or auth.linker is None:
        raise Unavailable("linking from the page needs `dstack-gov run` with the Telegram bot")
    return auth


@router.post("/link-challenge", response_model=None)
def on_link_challenge(body: LinkBody, request: Request, context: Context) -> JSONResponse:
    """Return the challenge text the owner's wallet signs (personal_sign) to link this Telegram user."""
    auth = _linker(context.telegram)
    user = telegram_user(request, body.init_data)
    assert user is not None and auth.linker is not None
    owner = parse_address(body.owner, "owner")
    safe = context.service.get(body.proposal).safe
    return JSONResponse({"challenge": auth.linker.challenge(user, owner, safe)})


@router.post("/link", response_model=None)
def on_link(body: LinkBody, request: Request, context: Context) -> JSONResponse:
    """Check the signed challenge and link the owner address to this Telegram user."""
    auth = _linker(context.telegram)
    user = telegram_user(request, body.init_data)
    assert user is not None and auth.linker is not None
    if not body.signature:
        raise InvalidInput("signature: sign the challenge first")
    owner = parse_address(body.owner, "owner")
    safe = context.service.get(body.proposal).safe
    with context.writing():
        auth.linker.complete(user, owner, body.signature, safe)
    if auth.on_linked is not None:
        auth.on_linked(user)
    return JSONResponse({"linked": owner, "telegramUser": user.user_id})
