"""Build the core's input models for store tests (deterministic hashes and addresses)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.models import (
    ActionCall,
    NewProposal,
    NewSignature,
    ProposalKind,
    ProposalState,
    SafeTxData,
    SignatureKind,
)

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ZERO = Web3.to_checksum_address("0x" + "00" * 20)


def address(seed: str) -> ChecksumAddress:
    """Return a deterministic checksummed address for `seed`."""
    return Web3.to_checksum_address("0x" + hashlib.sha256(seed.encode()).hexdigest()[:40])


SAFE = address("safe")
OTHER_SAFE = address("other safe")
KMS = address("kms")
OWNERS = [address(f"owner {i}") for i in range(5)]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now


def safe_tx_hash(seed: object) -> bytes:
    """Return a deterministic 32-byte hash for `seed`."""
    return hashlib.sha256(repr(seed).encode()).digest()


def new_proposal(
    nonce: int = 0,
    *,
    state: ProposalState = ProposalState.PENDING,
    safe: ChecksumAddress = SAFE,
    seed: object = None,
    kind: ProposalKind = ProposalKind.CHANGE,
    rejects: int | None = None,
    expires_at: datetime | None = None,
) -> NewProposal:
    """Return a one-action proposal for `safe` at `nonce` (a distinct hash per seed)."""
    tx = SafeTxData(
        safe=safe,
        chain_id=1337,
        safe_version="1.4.1",
        to=KMS,
        value=2**256 - 1,  # a full uint256 must survive every backend
        data=bytes.fromhex("deadbeef") + nonce.to_bytes(32, "big"),
        operation=0,
        safe_tx_gas=0,
        base_gas=0,
        gas_price=0,
        gas_token=ZERO,
        refund_receiver=ZERO,
        nonce=nonce,
    )
    return NewProposal(
        kind=kind,
        state=state,
        title=f"Whitelist OS image #{nonce}",
        description="Adds the image built from tag v0.5.0.",
        proposer="telegram:1001",
        safe_tx=tx,
        safe_tx_hash=safe_tx_hash((safe, nonce, seed, kind)),
        actions=(ActionCall("kms-add-os-image", KMS, {"osImageHash": "0x" + "11" * 32, "note": "ü ✓"}),),
        expires_at=expires_at,
        rejects=rejects,
    )


def new_signature(proposal_id: int, owner: ChecksumAddress = OWNERS[0], *, source: str = "telegram") -> NewSignature:
    """Return an EIP-712 signature by `owner` (65 bytes, v = 27)."""
    body = hashlib.sha256(f"{proposal_id}:{owner}".encode()).digest() * 2
    return NewSignature(
        proposal_id=proposal_id, owner=owner, kind=SignatureKind.EIP712, signature=body + b"\x1b", source=source
    )
