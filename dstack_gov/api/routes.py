"""Proposal endpoints: list, view, typed data, propose, sign, execute, cancel."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from proposals.catalogue import parse_address
from proposals.models import MAX_ID, ProposalState
from proposals.proposal_file import load_proposal_text
from proposals.signatures import SignatureRefused, parse_signature_hex
from proposals.views import proposal_as_dict, view_as_dict

from .auth import require_token
from .context import ApiContext, Context
from .models import ProposeBody, SignatureBody
from .openapi import errors
from .responses import Cancelled, Executed, ProposalDetail, ProposalSummary, SignatureAccepted, TypedData
from .telegram import telegram_user

router = APIRouter(prefix="/api/proposals", default_response_class=JSONResponse)
WRITE = [Depends(require_token)]
MAX_LIST = 500
# Ids past the database's 64-bit range are refused here, not by the database driver.
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _view(context: ApiContext, proposal_id: int) -> dict[str, object]:
    return view_as_dict(context.service.view(proposal_id))


@router.get("", response_model=list[ProposalSummary], responses=errors(400, 503))
def on_list(
    context: Context,
    state: Annotated[list[ProposalState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> JSONResponse:
    """List proposals, newest first, optionally only some states."""
    proposals = context.service.list_proposals(state, limit=limit)
    return JSONResponse([proposal_as_dict(p) for p in proposals])


@router.get("/{proposal_id}", response_model=ProposalDetail, responses=errors(400, 404, 409, 503))
def on_view(proposal_id: ProposalId, context: Context) -> JSONResponse:
    """Show one proposal: decoded calls, signatures, missing owners, hashes."""
    return JSONResponse(_view(context, proposal_id))


@router.get("/{proposal_id}/typed-data", response_model=TypedData, responses=errors(400, 404, 409, 503))
def on_typed_data(proposal_id: ProposalId, context: Context) -> JSONResponse:
    """Return the EIP-712 typed data that owners sign."""
    return JSONResponse(context.service.typed_data(proposal_id))


@router.post("", status_code=201, dependencies=WRITE, response_model=ProposalDetail,
             responses=errors(400, 409, 422, 503))  # fmt: skip
def on_propose(body: ProposeBody, context: Context) -> JSONResponse:
    """Plan, simulate and store a proposal from a proposal file given as JSON."""
    request = load_proposal_text(json.dumps(body.proposal_file()), source="body")
    with context.writing():
        proposal = context.service.propose(request, proposer=body.proposer, force=body.force, nonce=body.nonce)
    return JSONResponse(_view(context, proposal.id), status_code=201)


@router.post("/{proposal_id}/signatures", response_model=SignatureAccepted, responses=errors(400, 404, 409, 503))
def on_signature(proposal_id: ProposalId, body: SignatureBody, context: Context, request: Request) -> JSONResponse:
    """Verify and store an owner's signature; the one that meets the threshold executes at once.

    From the signing page inside Telegram, the checked initData names the user the audit log records.
    """
    owner = parse_address(body.owner, "owner") if body.owner else None
    user = telegram_user(request)
    source, actor = ("api", "api") if user is None else (user.source, user.actor)
    try:
        signature = parse_signature_hex(body.signature)
        with context.writing():
            result = context.service.add_signature(
                proposal_id, signature, source=source, actor=actor, claimed_owner=owner
            )
    except SignatureRefused:
        context.metrics.signature_refused()
        raise
    return JSONResponse(
        {
            "proposal": _view(context, proposal_id),
            "confirmations": result.valid_count,
            "threshold": result.threshold,
            "executionError": result.execution_error,
        }
    )


@router.post("/{proposal_id}/execute", dependencies=WRITE, response_model=Executed,
             responses=errors(400, 404, 409, 422, 503))  # fmt: skip
def on_execute(proposal_id: ProposalId, context: Context) -> JSONResponse:
    """Re-check everything against the chain and execute with the executor key."""
    with context.writing():
        context.service.execute(proposal_id, actor="api")
    return JSONResponse({"proposal": _view(context, proposal_id)})


@router.post("/{proposal_id}/cancel", dependencies=WRITE, response_model=Cancelled,
             responses=errors(400, 404, 409, 422, 503))  # fmt: skip
def on_cancel(proposal_id: ProposalId, context: Context) -> JSONResponse:
    """Withdraw an unsigned proposal, or propose the rejection that cancels a signed one."""
    with context.writing():
        result = context.service.cancel(proposal_id, actor="api")
    rejection = None if result.rejection is None else _view(context, result.rejection.id)
    return JSONResponse({"proposal": _view(context, proposal_id), "rejection": rejection})
