"""The webhook's JSON bodies, byte for byte as docs/interface.md fixes them."""

from __future__ import annotations

import functools
import json
from typing import Any

from .reader import KmsStatus, Verdict

INVALID_REQUEST_REASON = "invalid authorization request"
BACKEND_UNAVAILABLE_REASON = "authorization backend unavailable"


def dump(payload: dict[str, Any]) -> bytes:
    """Serialise compactly, as JSON.stringify would (keys in insertion order, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def boot_body(is_allowed: bool, reason: str, gateway_app_id: str) -> bytes:
    """Return a /bootAuth/* answer."""
    return dump({"isAllowed": is_allowed, "reason": reason, "gatewayAppId": gateway_app_id})


@functools.lru_cache(maxsize=1024)
def verdict_body(verdict: Verdict) -> bytes:
    """Return the /bootAuth/* answer carrying the contract's verdict (the few distinct ones encoded once)."""
    return boot_body(verdict.is_allowed, verdict.reason, verdict.gateway_app_id)


INVALID_REQUEST_BODY = boot_body(False, INVALID_REQUEST_REASON, "")
BACKEND_UNAVAILABLE_BODY = boot_body(False, BACKEND_UNAVAILABLE_REASON, "")
STATUS_ERROR_BODY = dump({"status": "error", "message": BACKEND_UNAVAILABLE_REASON})


def status_body(status: KmsStatus, kms_address: str, rpc_label: str) -> bytes:
    """Return GET /'s healthy answer; appAuthImplementation repeats appImplementation for old clients."""
    return dump(
        {
            "status": "ok",
            "kmsContractAddr": kms_address,
            "ethRpcUrl": rpc_label,
            "gatewayAppId": status.gateway_app_id,
            "chainId": status.chain_id,
            "appImplementation": status.app_implementation,
            "appAuthImplementation": status.app_implementation,
        }
    )
