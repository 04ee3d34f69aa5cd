"""/readyz: can this replica serve? The database and the RPC answer, and Telegram did when last asked.

Liveness (/healthz) asks nothing of anyone: a replica whose RPC is down is alive, not ready, and
restarting it would not help. Readiness checks each dependency once per request, in this process:

- database: one cheap query through the service;
- RPC: the chain id and head, through the failover pool (ready while any endpoint answers);
- Telegram: the bot's last Bot API call (foundation.health); a process that runs no bot, or a
  follower that leaves Telegram to the leader, reports null and is not held back by it.

The role (leader, follower, single) is shown, never a reason to be unready: followers serve HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from .context import ApiContext

log = logging.getLogger("dstack_gov.api")


def _check(ok: bool | None, detail: str = "") -> dict[str, Any]:
    return {"ok": ok, "detail": detail}


def readiness(context: ApiContext) -> tuple[int, dict[str, Any]]:
    """Return the HTTP status (200 or 503) and the body of /readyz."""
    service, health = context.service, context.health
    try:
        service.check_database()
        database = _check(True)
    except Exception:  # the cause goes to the log only: it may name the database URL
        log.warning("readiness: the database does not answer", exc_info=log.isEnabledFor(logging.DEBUG))
        database = _check(False, "the database does not answer")
    chain_id = block = None
    try:
        head = service.chain_head()
        chain_id, block = head.chain_id, head.block_number
        rpc = _check(True)
    except Exception:  # any failure means "not ready"; no URL in the answer
        log.warning("readiness: no RPC endpoint answers", exc_info=log.isEnabledFor(logging.DEBUG))
        rpc = _check(False, "no RPC endpoint answers")
    contact = health.contact("telegram")
    telegram = _check(None, "not used by this process") if contact is None else _check(contact.ok, contact.detail)
    ready = database["ok"] and rpc["ok"] and telegram["ok"] is not False
    endpoints = [{"endpoint": e.label, "health": round(e.health, 4), "requests": e.requests, "errors": dict(e.errors)}
                 for e in service.rpc_endpoints()]  # fmt: skip
    body = {"status": "ready" if ready else "not ready", "role": health.role, "database": database, "rpc": rpc,
            "telegram": telegram, "chainId": chain_id, "blockNumber": block, "endpoints": endpoints}  # fmt: skip
    return (200 if ready else 503), body
