"""The facade's side for chat front ends: list summaries, Safe states, the policy a chat sees, notes, changes.

GovernanceService inherits these, so the bot asks the service for what it shows and writes down (an
announcement, a reminder) and never reads the store or the chain behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.catalogue import Group
from proposals.chain import ChainReader
from proposals.models import Proposal
from proposals.policy import AppPolicy, KmsPolicy, read_app_policy, read_kms_policy
from proposals.safe_tx import SafeState, read_safe_state
from proposals.store.base import Store

# Audit events front ends write about their own messages: they change nothing a message shows.
NOTE_EVENTS = frozenset({"announced", "reminded"})
# On a watcher's first look, changes this recent still count (older ones were shown by whoever ran then).
FIRST_LOOK_WINDOW = timedelta(minutes=5)
# Later looks start this much before the newest entry seen: entries written in the same instant by
# another process may be committed after it (the id cursor keeps anything from counting twice).
LOOK_MARGIN = timedelta(minutes=1)
MAX_LISTED = 500


@dataclass(frozen=True)
class ProposalSummary:
    """An open proposal as a list shows it: the signatures it holds and how many its Safe needs."""

    proposal: Proposal
    signatures: int
    threshold: int


@dataclass(frozen=True)
class PolicySeen:
    """The part of the on-chain policy the signers of some Safes may see."""

    kms: KmsPolicy | None
    apps: list[AppPolicy]  # the registered apps those Safes own
    hidden: int  # registered apps owned by anyone else
    relevant: bool  # one of the Safes owns the KMS or one of its apps


class FrontEndSupport:
    """What chat front ends need from GovernanceService beside the proposal flow."""

    store: Store
    w3: Web3
    reader: ChainReader
    clock: Callable[[], datetime]
    open_proposals_of: Callable[[Collection[ChecksumAddress], int], list[Proposal]]

    def safe_state(self, safe: ChecksumAddress) -> SafeState:
        """Read a Safe's owners, threshold, nonce and version from the chain."""
        return read_safe_state(self.w3, safe)

    def pending_for(self, safes: Collection[ChecksumAddress], limit: int = MAX_LISTED) -> list[ProposalSummary]:
        """Return the open proposals of `safes`, newest first, each with its signature count and threshold."""
        thresholds: dict[str, int] = {}
        summaries = []
        for proposal in self.open_proposals_of(safes, limit):
            if proposal.safe not in thresholds:
                thresholds[proposal.safe] = self.safe_state(proposal.safe).threshold
            count = len(self.store.signatures(proposal.id))
            summaries.append(ProposalSummary(proposal, count, thresholds[proposal.safe]))
        return summaries

    def policy_seen_by(self, safes: Sequence[ChecksumAddress]) -> PolicySeen:
        """Return the KMS policy and the policies of the apps `safes` own.

        The KMS whitelists (images, measurements, devices, gateway) bind every app on it, so they are shown
        to the signers of a Safe that owns the KMS or a registered app; an app only to its owner's signers.
        """
        reader = self.reader
        if reader.kms is None:
            return PolicySeen(None, [], 0, relevant=False)
        kms = read_kms_policy(reader, reader.kms)
        own = {safe.lower() for safe in safes}
        mine = [app for app in kms.apps if str(reader.read(Group.APP, app, "owner")).lower() in own]
        apps = [read_app_policy(reader, app) for app in mine]
        return PolicySeen(kms, apps, len(kms.apps) - len(apps), relevant=kms.owner.lower() in own or bool(apps))

    def record_announcement(self, proposal_id: int, *, actor: str, chat_id: int, message_id: int) -> None:
        """Note in the audit log where a proposal was announced."""
        self.store.record(proposal_id, actor=actor, event="announced",
                          detail={"chatId": chat_id, "messageId": message_id})  # fmt: skip

    def record_reminder(self, proposal_id: int, *, actor: str, missing: Sequence[str]) -> None:
        """Note in the audit log that the owners in `missing` were reminded."""
        self.store.record(proposal_id, actor=actor, event="reminded", detail={"missing": list(missing)})

    def changed_since_last_look(self, watcher: str) -> set[int]:
        """Return the proposals changed since `watcher` last asked (by any process), front ends' notes aside."""
        id_cursor, at_cursor = f"{watcher}:audit-id", f"{watcher}:audit-at-ms"
        last_id = self.store.get_cursor(id_cursor)
        last_at_ms = self.store.get_cursor(at_cursor)
        now = self.clock()
        since = now - FIRST_LOOK_WINDOW
        if last_at_ms is not None:
            since = datetime.fromtimestamp(last_at_ms / 1000, UTC) - LOOK_MARGIN
        entries = [e for e in self.store.audit(since=since) if last_id is None or e.id > last_id]
        if entries:
            self.store.set_cursor(id_cursor, max(e.id for e in entries))
            self.store.set_cursor(at_cursor, int(max(e.at for e in entries).timestamp() * 1000))
        elif last_id is None:
            self.store.set_cursor(id_cursor, 0)
            self.store.set_cursor(at_cursor, int(now.timestamp() * 1000))
        return {e.proposal_id for e in entries if e.proposal_id is not None and e.event not in NOTE_EVENTS}
