"""Operational endpoints: health, metrics, the action catalogue, reconciliation and the audit log."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from proposals.catalogue import CATALOGUE, Action
from proposals.models import MAX_ID
from proposals.store.audit_export import audit_entry_object, audit_to_csv

from .auth import require_token
from .context import Context
from .metrics import CONTENT_TYPE
from .openapi import errors
from .readiness import readiness
from .responses import AuditEntryBody, CatalogueAction, Healthy, Readiness, ReconcileBody

log = logging.getLogger("dstack_gov.api")
router = APIRouter(default_response_class=JSONResponse)
WRITE = [Depends(require_token)]
AUDIT_CSV = {"text/csv": {"schema": {"type": "string", "description": "id,at,proposal_id,actor,event,detail"}}}


class PrometheusText(PlainTextResponse):
    """The Prometheus text exposition format (declared so the schema names its media type)."""

    media_type = CONTENT_TYPE


def action_as_dict(action: Action) -> dict[str, Any]:
    """Return one catalogue action as JSON-ready data."""
    return {
        "name": action.name,
        "cliPath": action.cli_path,
        "summary": action.summary,
        "risk": action.risk.value,
        "group": action.group.value,
        "function": action.function,
        "permissionless": action.permissionless,
        "params": [
            {"name": p.name, "type": p.kind.value, "optional": p.optional, "help": p.help} for p in action.params
        ],
    }


@router.get("/healthz", response_model=Healthy)
def on_healthz() -> JSONResponse:
    """Answer that the process is alive (it reads nothing: /readyz checks the dependencies)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "A dependency does not answer."}})  # fmt: skip
def on_readyz(context: Context) -> JSONResponse:
    """Answer whether this replica can serve: database, RPC, Telegram; and whether it leads."""
    status, body = readiness(context)
    return JSONResponse(body, status_code=status)


@router.get("/metrics", response_model=str, response_class=PrometheusText, responses=errors(503))
def on_metrics(context: Context) -> Response:
    """Expose proposals, signatures, executions, latencies, RPC errors, role, balance and backlog (Prometheus)."""
    return Response(context.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/api/catalogue", response_model=list[CatalogueAction])
def on_catalogue() -> JSONResponse:
    """List every governance action with its parameters."""
    return JSONResponse([action_as_dict(a) for a in CATALOGUE])


@router.post("/api/reconcile", dependencies=WRITE, response_model=ReconcileBody, responses=errors(503))
def on_reconcile(context: Context) -> JSONResponse:
    """Run one reconciliation pass against the chain and report what changed."""
    with context.writing():
        report = context.service.reconcile()
    return JSONResponse(report.as_dict())


@router.get("/api/audit", dependencies=WRITE, response_model=list[AuditEntryBody],
            responses={200: {"content": AUDIT_CSV}, **errors(400, 404, 503)})  # fmt: skip
def on_audit(
    context: Context,
    proposal: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Export the audit log (all of it, or one proposal's) as JSON or CSV."""
    entries = context.service.audit(proposal)
    if output == "csv":
        name = "audit.csv" if proposal is None else f"audit-{proposal}.csv"
        return Response(audit_to_csv(entries), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
    return JSONResponse([audit_entry_object(e) for e in entries])
