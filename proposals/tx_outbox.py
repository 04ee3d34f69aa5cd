"""The Transaction Service outbox's value types: signatures waiting to be posted to the Safe Transaction Service.

One entry per (safeTxHash, signer). The sync posts the first entry of a transaction the service does
not know yet as the transaction itself (that signer is the `sender`), every later one as a confirmation.
Entries are retried with backoff until posted, or dropped once their proposal has ended.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from eth_typing import ChecksumAddress


class OutboxStatus(enum.StrEnum):
    """Where an outbox entry is."""

    PENDING = "pending"
    POSTED = "posted"
    DROPPED = "dropped"  # its proposal ended before the service took it: nothing left to post


class SignerRole(enum.StrEnum):
    """Who made the signature: an owner (it counts) or the configured delegate (it only proposes)."""

    OWNER = "owner"
    DELEGATE = "delegate"


@dataclass(frozen=True)
class NewOutboxEntry:
    """A signature to post."""

    proposal_id: int
    safe_tx_hash: bytes
    signer: ChecksumAddress
    signature: bytes
    role: SignerRole = SignerRole.OWNER


@dataclass(frozen=True)
class OutboxEntry:
    """A signature in the outbox, with its delivery bookkeeping."""

    id: int
    proposal_id: int
    safe_tx_hash: bytes
    signer: ChecksumAddress
    signature: bytes
    role: SignerRole
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    posted_at: datetime | None
    posted_as: str | None  # "transaction" or "confirmation"
