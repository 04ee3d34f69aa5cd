"""Command arguments as typed models, with the usage line each command shows when they are wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from foundation.validation import first_problem
from proposals.errors import InvalidInput

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("propose", "/propose <action> …", "file a proposal (see /help actions); or send a proposal file"),
    ("pending", "/pending", "list open proposals"),
    ("status", "/status <id>", "everything about one proposal"),
    ("typeddata", "/typeddata <id>", "the EIP-712 file to sign with cast wallet sign --data"),
    ("sign", "/sign <id> 0x<signature> [owner]", "add an owner's signature (owner: for a contract owner)"),
    ("cancel", "/cancel <id>", "withdraw a proposal, or propose its on-chain rejection"),
    ("policy", "/policy", "what the KMS and its apps allow now"),
    ("plan", "/plan (caption of a policy file)", "what applying a policy file would change; apply it"),
    ("drift", "/drift", "where the chain departs from the applied policy file"),
    ("owners", "/owners", "owners, threshold, and who is linked to whom"),
    ("link", "/link <address> [0x<signature>]", "prove you hold an owner key"),
    ("help", "/help [actions | <action>]", "this help"),
)
USAGE = {name: line for name, line, _ in COMMANDS}


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ProposalArgs(_Args):
    """`/status 17`, `/typeddata 17`, `/cancel 17`."""

    proposal_id: int = Field(gt=0, lt=2**63)


class SignArgs(ProposalArgs):
    """`/sign 17 0x… [owner]`."""

    signature: str = Field(min_length=1, max_length=20_000)
    owner: str | None = None


class LinkArgs(_Args):
    """`/link 0xOwner` (ask for a challenge) or `/link 0xOwner 0x<signature>` (answer it)."""

    owner: str = Field(min_length=1, max_length=100)
    signature: str | None = Field(default=None, max_length=200)


M = TypeVar("M", bound=_Args)


def parse_args(model: type[M], command: str, args: Sequence[str]) -> M:
    """Map positional words onto `model`'s fields; a mismatch is InvalidInput with the usage line."""
    names = list(model.model_fields)
    usage = USAGE[command]
    if len(args) > len(names):
        raise InvalidInput(f"too many arguments. Usage: {usage}")
    try:
        return model.model_validate(dict(zip(names, args, strict=False)))
    except ValidationError as exc:
        problem = first_problem(exc)
        field = problem.where or "arguments"
        verdict = "missing" if problem.kind == "missing" else "invalid"
        raise InvalidInput(f"{field.replace('_', ' ')} {verdict}. Usage: {usage}") from None
