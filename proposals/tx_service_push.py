"""Safe Transaction Service sync, the push side: our signatures reach the service through a persisted outbox.

The service takes a transaction only with an owner's (or a delegate's) signature, and the bot holds no
owner key, so a proposal is posted when its first signature arrives: that signer is the `sender`. Every
later signature is posted as a confirmation. With a delegate key configured, the delegate posts each
proposal as it is filed.

An entry that fails is retried with exponential backoff. A service that does not answer ends the pass
at once (the rest stays due), so an outage costs one timeout per pass and never blocks signing or
executing. Entries of proposals that ended are dropped: the service learns executions from the chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from proposals.errors import NotFound
from proposals.models import TERMINAL_STATES, SafeTxData, SignatureKind
from proposals.safe_tx import typed_data
from proposals.tx_import import IMPORTED_PREFIX
from proposals.tx_outbox import NewOutboxEntry, OutboxEntry, OutboxStatus, SignerRole
from proposals.tx_service import TxServiceClient, TxServiceError
from proposals.tx_service_sync import SOURCE, SyncReport

if TYPE_CHECKING:
    from proposals.service import GovernanceService

log = logging.getLogger(__name__)
ACTOR = "safe-transaction-service"


@dataclass(frozen=True)
class PushSettings:
    """Backoff of failed posts, and the optional delegate that posts proposals as they are filed."""

    retry_base: timedelta = timedelta(seconds=10)
    retry_max: timedelta = timedelta(hours=1)
    delegate: LocalAccount | None = None


class TxServicePush:
    """Queues our signatures for the service and posts them."""

    def __init__(
        self, service: GovernanceService, client: TxServiceClient, settings: PushSettings, listed: set[bytes]
    ) -> None:
        self.service = service
        self.store = service.store
        self.client = client
        self.settings = settings
        # safeTxHashes the last pull saw on the service (shared with the pull).
        self.listed = listed

    def on_change(self, proposal_id: int, event: str) -> None:
        """Queue what a change means for the service: a new signature, or (with a delegate) a new proposal."""
        if event == "signature":
            self.queue_signatures(proposal_id)
        elif event == "created" and self.settings.delegate is not None:
            self.queue_delegate(proposal_id, self.settings.delegate)

    def queue_signatures(self, proposal_id: int) -> None:
        """Queue the proposal's signatures that came from here (not the service) and are not queued yet."""
        proposal = self.store.get(proposal_id)
        now = self.service.clock()
        for sig in self.store.signatures(proposal_id):
            if sig.source == SOURCE or sig.kind is SignatureKind.APPROVED_HASH:
                continue  # from the service, or approveHash, which the service reads from the chain
            self.store.enqueue_tx_service(
                NewOutboxEntry(proposal_id, proposal.safe_tx_hash, sig.owner, sig.signature), now=now
            )

    def queue_delegate(self, proposal_id: int, delegate: LocalAccount) -> None:
        """Have the delegate sign the new proposal's safeTxHash, so the service can list it before any owner signs."""
        proposal = self.store.get(proposal_id)
        if proposal.proposer.startswith(IMPORTED_PREFIX):
            return  # it came from the service
        signed = delegate.sign_typed_data(full_message=typed_data(proposal.safe_tx))
        entry = NewOutboxEntry(proposal_id, proposal.safe_tx_hash, delegate.address, bytes(signed.signature),
                               SignerRole.DELEGATE)  # fmt: skip
        self.store.enqueue_tx_service(entry, now=self.service.clock())

    def push(self) -> SyncReport:
        """Post every due outbox entry, oldest first; stop at the first sign that the service is down."""
        report = SyncReport()
        for entry in self.store.due_tx_service(self.service.clock()):
            if not self._post(entry, report):
                break
        report.pending_posts = len(self.store.tx_service_entries(statuses=[OutboxStatus.PENDING]))
        return report

    def _post(self, entry: OutboxEntry, report: SyncReport) -> bool:
        """Post one entry; return False when the service did not answer (the pass ends)."""
        now = self.service.clock()
        try:
            proposal = self.store.get(entry.proposal_id)
        except NotFound:
            self.store.settle_tx_service(entry.id, OutboxStatus.DROPPED, now=now, error="the proposal is gone")
            return True
        known = (self.store.tx_service_posted(entry.safe_tx_hash) or entry.safe_tx_hash in self.listed
                 or proposal.proposer.startswith(IMPORTED_PREFIX))  # fmt: skip
        if proposal.state in TERMINAL_STATES or (known and entry.role is SignerRole.DELEGATE):
            self.store.settle_tx_service(entry.id, OutboxStatus.DROPPED, now=now,
                                         error=f"not needed: the proposal is {proposal.state.value}"
                                         if proposal.state in TERMINAL_STATES else "the service has it")  # fmt: skip
            return True
        try:
            posted_as = self._send(entry, proposal.safe_tx, known, report)
        except TxServiceError as exc:
            delay = min(self.settings.retry_base * (2**entry.attempts), self.settings.retry_max)
            self.store.settle_tx_service(entry.id, OutboxStatus.PENDING, now=now, error=exc.message,
                                         retry_at=now + delay)  # fmt: skip
            report.errors.append(f"proposal #{entry.proposal_id}: {exc.message}")
            return exc.status is not None
        self.store.settle_tx_service(entry.id, OutboxStatus.POSTED, now=now, posted_as=posted_as)
        self.store.record(entry.proposal_id, actor=ACTOR, event="tx-service-posted",
                          detail={"signer": entry.signer, "as": posted_as, "role": entry.role.value})  # fmt: skip
        self.listed.add(entry.safe_tx_hash)
        report.posted.append((entry.proposal_id, entry.signer, posted_as))
        return True

    def _send(self, entry: OutboxEntry, tx: SafeTxData, known: bool, report: SyncReport) -> str:
        """Post the entry as a confirmation when the service has the transaction, else as the transaction."""
        if known:
            report.requests += 1
            try:
                self.client.confirm(entry.safe_tx_hash, entry.signature)
                return "confirmation"
            except TxServiceError as exc:
                if exc.status != 404:
                    raise
                # The service lost it, or never had it: post the transaction itself.
        report.requests += 1
        self.client.propose(tx, entry.safe_tx_hash, entry.signer, entry.signature)
        return "transaction"
