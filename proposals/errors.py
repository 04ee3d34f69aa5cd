"""The governance error tree; every front end renders these with one handler.

    GovernanceError            (exit 1, HTTP 500)
     ├── InvalidInput          (exit 2, HTTP 400)  bad hex, bad address, unknown action, bad file
     │    └── Unauthorized     (exit 2, HTTP 403)  not an owner, not a proposer, wrong token
     ├── NotFound              (exit 2, HTTP 404)  no such proposal, no code at an address
     ├── Conflict              (exit 1, HTTP 409)  nonce taken, already signed, wrong state
     │    └── ActionsMismatch  (exit 1, HTTP 409)  a proposal's stored actions do not encode its calldata
     ├── ChainError            (exit 1, HTTP 422)  a revert, a GS0xx code, a failed simulation
     └── Unavailable           (exit 1, HTTP 503)  RPC down or timing out, wrong chain, database locked or broken

Messages are written for the person at the other end and never contain secrets. Each class also
carries `kind`, a stable slug for machine-readable output (`dstack-gov … --json`): error,
invalid-input, unauthorized, not-found, conflict, chain-error, unavailable. A subclass added below
these keeps its parent's kind, so the set scripts switch on stays small.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import requests
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError

from contracts.sender import TransactionReverted, describe_call_error


class GovernanceError(Exception):
    """Root of every error the core raises on purpose."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    kind: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidInput(GovernanceError):
    """The input cannot be used as given."""

    exit_code = 2
    http_status = 400
    kind = "invalid-input"


class Unauthorized(InvalidInput):
    """The caller may not do this."""

    http_status = 403
    kind = "unauthorized"


class NotFound(GovernanceError):
    """The thing asked for does not exist."""

    exit_code = 2
    http_status = 404
    kind = "not-found"


class Conflict(GovernanceError):
    """The request clashes with the current state."""

    http_status = 409
    kind = "conflict"


class ActionsMismatch(Conflict):
    """A stored proposal's actions do not re-encode to its calldata: it is neither shown nor signed."""


class ChainError(GovernanceError):
    """The chain refused: a revert, a Safe GS code, a failed simulation."""

    http_status = 422
    kind = "chain-error"


class Unavailable(GovernanceError):
    """A dependency (the RPC node, the database) cannot be reached or answers wrongly."""

    http_status = 503
    kind = "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        # Seconds after which trying again may work (a busy database), for HTTP's Retry-After.
        self.retry_after = retry_after


# Safe contract revert codes (safe-smart-account docs/error_codes.md), in words.
SAFE_ERROR_CODES: dict[str, str] = {
    "GS000": "could not finish initialisation",
    "GS001": "threshold needs to be defined",
    "GS010": "not enough gas to execute the Safe transaction",
    "GS011": "could not pay gas costs with ether",
    "GS012": "could not pay gas costs with token",
    "GS013": "the inner call failed (safeTxGas and gasPrice are 0)",
    "GS020": "signatures data too short",
    "GS021": "invalid contract signature location: inside static part",
    "GS022": "invalid contract signature location: length not present",
    "GS023": "invalid contract signature location: data not complete",
    "GS024": "invalid contract signature provided",
    "GS025": "hash has not been approved",
    "GS026": "invalid owner provided (signer is not an owner, or signatures are not sorted)",
    "GS030": "only owners can approve a hash",
    "GS031": "method can only be called from this contract",
    "GS100": "modules have already been initialised",
    "GS101": "invalid module address provided",
    "GS102": "module has already been added",
    "GS103": "invalid prevModule, module pair provided",
    "GS104": "method can only be called from an enabled module",
    "GS200": "owners have already been set up",
    "GS201": "threshold cannot exceed owner count",
    "GS202": "threshold needs to be greater than 0",
    "GS203": "invalid owner address provided",
    "GS204": "address is already an owner",
    "GS205": "invalid prevOwner, owner pair provided",
    "GS300": "guard does not implement IERC165",
    "GS400": "hash has not been approved",
}

_GS_CODE = re.compile(r"\bGS\d{3}\b")


def humanize_revert(reason: str) -> str:
    """Append the meaning of a Safe GS0xx code found in `reason`."""
    match = _GS_CODE.search(reason)
    if match and match.group(0) in SAFE_ERROR_CODES:
        return f"{match.group(0)}: {SAFE_ERROR_CODES[match.group(0)]}"
    return reason


def rpc_error_message(exc: Web3RPCError) -> str:
    """Return the node's own error text (not web3's dict dump), one line, bounded."""
    response = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        text = error["message"]
    else:
        text = str(getattr(exc, "message", None) or exc)
    return (text.splitlines() or ["unknown RPC error"])[0][:200]


@contextmanager
def translate_chain_errors(action: str = "chain request") -> Iterator[None]:
    """Translate web3 / RPC / revert errors raised inside the block into the tree above."""
    try:
        yield
    except GovernanceError:
        raise
    except TransactionReverted as exc:
        raise ChainError(f"{action} reverted: {humanize_revert(exc.reason)}") from exc
    except ContractLogicError as exc:
        raise ChainError(f"{action} reverted: {humanize_revert(describe_call_error(exc))}") from exc
    except TimeExhausted as exc:
        raise Unavailable(f"{action}: timed out waiting for the transaction to be mined") from exc
    except (requests.Timeout, TimeoutError) as exc:
        raise Unavailable(f"{action}: the RPC node is unreachable (no answer within the timeout)") from exc
    except (requests.ConnectionError, ConnectionError) as exc:
        raise Unavailable(f"{action}: the RPC node is unreachable") from exc
    except Web3RPCError as exc:
        raise ChainError(f"{action} failed: {rpc_error_message(exc)}") from exc
    except Web3Exception as exc:
        raise Unavailable(f"{action}: unexpected answer from the RPC node ({type(exc).__name__})") from exc
