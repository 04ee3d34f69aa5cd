"""Safe Transaction Service sync, the pull side: a Safe's queue there becomes proposals and signatures here.

Each pass reads every Safe's pending queue (`executed=false&nonce__gte=<Safe nonce>`, all pages), so the
requests per pass grow with the Safes and the pages, not with the proposals. Then, for each listed
transaction:

- its safeTxHash is recomputed from its fields for the Safe as the chain has it (a mismatch is refused);
- one we don't have becomes an imported proposal (proposals/tx_import.py), announced like ours;
- each confirmation we don't have goes through `GovernanceService.add_signature`, which verifies owner,
  hash and kind and executes on quorum; a refused one is in the audit log and ignored;
- another safeTxHash at the nonce of an open proposal is kept as a competing proposal: both are shown with
  a warning (the views compute it), and nothing is resolved automatically.

And our open proposals' signatures the service lacks are queued for the push (proposals/tx_service_push.py).
Reads (`fetch`) and writes (`apply`) are separate so a front end can read without holding its write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_typing import ChecksumAddress

from proposals.errors import ActionsMismatch, Conflict, GovernanceError, NotFound
from proposals.models import OPEN_STATES, Proposal, ProposalKind, SignatureKind
from proposals.safe_tx import SafeState, read_safe_state, safe_tx_hashes
from proposals.signatures import SignatureRefused
from proposals.tx_import import expiry, import_warnings, imported_proposal, is_rejection, remote_safe_tx
from proposals.tx_outbox import NewOutboxEntry
from proposals.tx_service import RemoteConfirmation, RemoteQueue, RemoteTx, TxServiceClient

if TYPE_CHECKING:
    from proposals.service import GovernanceService

log = logging.getLogger(__name__)
SOURCE = "safe-wallet"
ACTOR = "safe-transaction-service"
# Kinds whose owner is written in the signature itself (r): the service's claim is compared with it.
_OWNER_IN_R = frozenset({0, 1})


@dataclass(frozen=True)
class Fetched:
    """One Safe as read in a pass: its queue on the service, or why it could not be read."""

    safe: ChecksumAddress
    queue: RemoteQueue | None
    error: str | None = None


@dataclass
class SyncReport:
    """What one sync pass did."""

    imported: list[int] = field(default_factory=list)
    confirmations: list[tuple[int, str]] = field(default_factory=list)
    refused: list[tuple[int | None, str]] = field(default_factory=list)
    competing: list[tuple[int, int]] = field(default_factory=list)
    queued: list[tuple[int, str]] = field(default_factory=list)
    posted: list[tuple[int, str, str]] = field(default_factory=list)
    pending_posts: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: SyncReport) -> SyncReport:
        """Add `other`'s findings to this report and return it."""
        for name, value in vars(other).items():
            # The backlog is a level, not a count of events: the later report says what is left.
            setattr(self, name, value if name == "pending_posts" else getattr(self, name) + value)
        return self

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {k: list(v) if isinstance(v, list) else v for k, v in vars(self).items()}


class TxServicePull:
    """Reads the service's queues and brings proposals and signatures here in line with them."""

    def __init__(self, service: GovernanceService, client: TxServiceClient) -> None:
        self.service = service
        self.store = service.store
        self.client = client
        # Confirmations refused once in this process: refused again silently, not audited every pass.
        self._refused: set[tuple[bytes, str, bytes]] = set()
        # safeTxHashes the service listed in the last pass: the push posts confirmations for them.
        self.listed: set[bytes] = set()

    def fetch(self) -> list[Fetched]:
        """Read every Safe's pending queue from the service (HTTP and chain reads only, no writes)."""
        fetched = []
        for safe in self.service.safes:
            try:
                state = read_safe_state(self.service.w3, safe)
                fetched.append(Fetched(safe, self.client.pending(safe, state.nonce)))
            except GovernanceError as exc:
                fetched.append(Fetched(safe, None, exc.message))
        return fetched

    def apply(self, fetched: Sequence[Fetched]) -> SyncReport:
        """Import unknown transactions, add confirmations, flag competitors, queue what the service lacks."""
        report = SyncReport(requests=sum(f.queue.pages for f in fetched if f.queue is not None))
        for item in fetched:
            if item.queue is None:
                report.errors.append(f"{item.safe}: {item.error}")
                continue
            try:
                self._apply_safe(item.queue, report)
            except GovernanceError as exc:
                report.errors.append(f"{item.safe}: {exc.message}")
        return report

    def _apply_safe(self, queue: RemoteQueue, report: SyncReport) -> None:
        state = read_safe_state(self.service.w3, queue.safe)
        if queue.malformed:
            report.errors.append(f"{queue.safe}: {queue.malformed} transaction(s) in the service's answer unreadable")
        listed: dict[bytes, RemoteTx] = {}
        for remote in sorted(queue.txs, key=lambda r: r.nonce):
            if remote.nonce < state.nonce or remote.is_executed:
                continue
            proposal = self._proposal_for(remote, state, report)
            if proposal is None:
                continue
            listed[proposal.safe_tx_hash] = remote
            self.listed.add(proposal.safe_tx_hash)
            if proposal.state in OPEN_STATES:
                self._take_confirmations(proposal, remote.confirmations, report)
        for nonce in sorted({r.nonce for r in listed.values()}):
            self._flag_competitors(state.address, nonce, report)
        self._queue_missing(state, listed, report)

    def _proposal_for(self, remote: RemoteTx, state: SafeState, report: SyncReport) -> Proposal | None:
        tx = remote_safe_tx(remote, state)
        computed = safe_tx_hashes(tx).safe_tx_hash
        if computed != remote.safe_tx_hash:
            self._refuse(None, remote.safe_tx_hash, "", b"", report,
                         f"the service lists safeTxHash 0x{remote.safe_tx_hash.hex()} for fields that hash to "
                         f"0x{computed.hex()}")  # fmt: skip
            return None
        existing = self.store.find_by_hash(computed)
        if existing is not None:
            return existing
        rejects = self._rejected(tx.safe, tx.nonce) if is_rejection(tx) else None
        settings = self.service.settings
        try:
            new = imported_proposal(remote, tx, self.service.known, rejects=rejects,
                                    warnings=import_warnings(self.service.w3, tx, settings.simulate_accessor),
                                    expires_at=expiry(self.service.clock(), settings.proposal_ttl))  # fmt: skip
        except ActionsMismatch as exc:  # never happens for what tx_import builds; never shown if it did
            report.errors.append(exc.message)
            return None
        proposal = self.store.create_proposal(new, actor=ACTOR)
        self.store.record(proposal.id, actor=ACTOR, event="imported",
                          detail={"proposer": remote.proposer, "origin": (remote.origin or "")[:200],
                                  "warnings": list(new.planned.warnings if new.planned else ())})  # fmt: skip
        report.imported.append(proposal.id)
        self.service.lifecycle.notify(proposal.id, "created")
        return proposal

    def _rejected(self, safe: ChecksumAddress, nonce: int) -> int | None:
        """Return the one open change at `nonce` a Safe{Wallet} rejection cancels, if there is exactly one."""
        changes = [p for p in self.store.list_proposals(safe=safe, nonce=nonce, states=OPEN_STATES)
                   if p.kind is ProposalKind.CHANGE]  # fmt: skip
        return changes[0].id if len(changes) == 1 else None

    def _take_confirmations(
        self, proposal: Proposal, confirmations: Sequence[RemoteConfirmation], report: SyncReport
    ) -> None:
        have = {s.owner.lower() for s in self.store.signatures(proposal.id)}
        for confirmation in confirmations:
            owner, signature = confirmation.owner, bytes(confirmation.signature)
            key = (proposal.safe_tx_hash, owner.lower(), signature)
            if owner.lower() in have or key in self._refused:
                continue
            v = signature[64] if len(signature) >= 65 else None
            if v in _OWNER_IN_R and signature[12:32].hex() != owner.lower()[2:]:
                signer = "0x" + signature[12:32].hex()
                self._refuse(proposal.id, proposal.safe_tx_hash, owner, signature, report,
                             f"the service lists it for {owner}, but the signature names {signer}")  # fmt: skip
                continue
            claimed = owner if v not in _OWNER_IN_R else None
            try:
                self.service.add_signature(proposal.id, signature, source=SOURCE, actor=f"{SOURCE}:{owner}",
                                           claimed_owner=claimed)  # fmt: skip
            except SignatureRefused as exc:  # add_signature wrote it in the audit log
                self._refused.add(key)
                report.refused.append((proposal.id, f"{owner}: {exc.message}"))
                continue
            except (Conflict, NotFound):  # signed meanwhile, ended, or its nonce used: nothing to add
                continue
            have.add(owner.lower())
            report.confirmations.append((proposal.id, owner))

    def _refuse(self, proposal_id: int | None, safe_tx_hash: bytes, owner: str, signature: bytes,
                report: SyncReport, reason: str) -> None:  # fmt: skip
        key = (safe_tx_hash, owner.lower(), signature)
        if key in self._refused:
            return
        self._refused.add(key)
        self.store.record(proposal_id, actor=ACTOR, event="tx-service-refused",
                          detail={"safeTxHash": "0x" + safe_tx_hash.hex(), "owner": owner,
                                  "signature": "0x" + signature.hex(), "reason": reason})  # fmt: skip
        report.refused.append((proposal_id, reason))

    def _flag_competitors(self, safe: ChecksumAddress, nonce: int, report: SyncReport) -> None:
        """Audit and announce, once per pair, two open proposals at one nonce that don't cancel each other."""
        open_ = self.store.list_proposals(safe=safe, nonce=nonce, states=OPEN_STATES)
        for pair in competing_pairs(open_):
            flag = f"tx-competing:{pair[0]}:{pair[1]}"
            if self.store.get_cursor(flag):
                continue
            self.store.set_cursor(flag, 1)
            for mine, other in (pair, pair[::-1]):
                self.store.record(mine, actor=ACTOR, event="competing-proposal",
                                  detail={"other": other, "safe": safe, "nonce": nonce})  # fmt: skip
                self.service.lifecycle.notify(mine, "competing")
            report.competing.append(pair)

    def _queue_missing(self, state: SafeState, listed: dict[bytes, RemoteTx], report: SyncReport) -> None:
        """Queue for the push every signature of our open proposals that the service does not list."""
        now = self.service.clock()
        for proposal in self.store.list_proposals(safe=state.address, states=OPEN_STATES, limit=10_000):
            if proposal.nonce < state.nonce:
                continue
            remote = listed.get(proposal.safe_tx_hash)
            there = {c.owner.lower() for c in remote.confirmations} if remote is not None else set()
            for sig in self.store.signatures(proposal.id):
                if sig.owner.lower() in there or sig.kind is SignatureKind.APPROVED_HASH:
                    continue  # the service indexes approveHash from the chain itself
                entry = NewOutboxEntry(proposal.id, proposal.safe_tx_hash, sig.owner, sig.signature)
                if self.store.enqueue_tx_service(entry, now=now):
                    report.queued.append((proposal.id, sig.owner))


def competing_pairs(open_at_nonce: Sequence[Proposal]) -> list[tuple[int, int]]:
    """Return (lower id, higher id) of open proposals at one nonce where neither is the other's rejection."""
    pairs = []
    for index, first in enumerate(open_at_nonce):
        for second in open_at_nonce[index + 1 :]:
            if first.rejects == second.id or second.rejects == first.id:
                continue
            pairs.append((min(first.id, second.id), max(first.id, second.id)))
    return sorted(pairs)
