"""Request bodies: the proposal file plus options, and a signature."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from proposals.planning import MAX_ACTIONS

# A nested Safe's EIP-1271 signature holds its owners' signatures; a few dozen are plenty.
MAX_SIGNATURE_CHARS = 20_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProposeBody(_Body):
    """A proposal file as JSON (title, description, actions) plus how to plan it."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ACTIONS)
    force: bool = False
    # Any uint256 parses; the planner refuses one too far ahead of the Safe's nonce unless `force`.
    nonce: int | None = Field(default=None, ge=0, le=2**256 - 1)
    proposer: str = Field(default="api", min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")

    def proposal_file(self) -> dict[str, Any]:
        """Return the part that follows the proposal-file schema."""
        return {"title": self.title, "description": self.description, "actions": self.actions}


class SignatureBody(_Body):
    """An owner's signature; `owner` names a contract owner, or with no signature an approveHash."""

    signature: str = Field(default="", max_length=MAX_SIGNATURE_CHARS)
    owner: str | None = Field(default=None, max_length=64)
