"""The store's policy records: policy files as applied, and which proposals executed which transactions.

Drift detection compares the chain with the last policy file applied to a KMS, and tells changes that
came through dstack-gov (a proposal's execution, a direct transaction of `policy apply --direct`) from
changes made outside it.
"""

from __future__ import annotations

from collections.abc import Collection

from eth_typing import ChecksumAddress
from sqlalchemy import select

from proposals.models import ProposalState
from proposals.policy_file import AppliedPolicy, NewAppliedPolicy

from .part import StorePart
from .rows import checksummed, jsonable, utc
from .tables import AppliedPolicyRow, ProposalRow

# Transaction hashes looked up per query (SQL IN lists stay small on every backend).
_IN_CHUNK = 500


class PolicyRecords(StorePart):
    """Mixed into SqlStore: the policy half of the Store protocol."""

    def record_applied_policy(self, new: NewAppliedPolicy, *, actor: str) -> AppliedPolicy:
        """Keep a policy file as applied (audit event `policy-applied`)."""
        now = self._now()
        row = AppliedPolicyRow(
            kms=checksummed(new.kms, "kms"), policy=jsonable(dict(new.policy)), policy_digest=new.policy_digest,
            source=new.source[:200], plan_hash=new.plan_hash, block=new.block,
            proposal_ids=list(new.proposal_ids), direct_txs=jsonable(list(new.direct_txs)),
            applied_by=actor[:200], applied_at=now,
        )  # fmt: skip
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            detail = {"kms": row.kms, "source": row.source, "planHash": row.plan_hash,
                      "policyDigest": row.policy_digest, "proposals": row.proposal_ids,
                      "directTxs": row.direct_txs}  # fmt: skip
            self._append(session, now, None, actor, "policy-applied", detail)
            return _to_applied(row)

    def last_applied_policy(self, kms: ChecksumAddress) -> AppliedPolicy | None:
        """Return the policy file applied last to `kms`, if any."""
        query = select(AppliedPolicyRow).where(AppliedPolicyRow.kms == checksummed(kms, "kms"))
        with self._sessions() as session:
            row = session.scalars(query.order_by(AppliedPolicyRow.id.desc()).limit(1)).first()
            return None if row is None else _to_applied(row)

    def executed_by(self, tx_hashes: Collection[bytes]) -> dict[bytes, int]:
        """Return, for each of `tx_hashes` that executed a proposal, that proposal's id."""
        wanted = sorted({bytes(h) for h in tx_hashes})
        found: dict[bytes, int] = {}
        with self._sessions() as session:
            for start in range(0, len(wanted), _IN_CHUNK):
                query = select(ProposalRow.execution_tx_hash, ProposalRow.id).where(
                    ProposalRow.execution_tx_hash.in_(wanted[start : start + _IN_CHUNK]),
                    ProposalRow.state == ProposalState.EXECUTED.value,
                )
                found.update((bytes(h), int(i)) for h, i in session.execute(query) if h is not None)
        return found


def _to_applied(row: AppliedPolicyRow) -> AppliedPolicy:
    return AppliedPolicy(
        kms=checksummed(row.kms, "kms"), policy=dict(row.policy), policy_digest=row.policy_digest, source=row.source,
        plan_hash=row.plan_hash, block=int(row.block), proposal_ids=tuple(int(i) for i in row.proposal_ids),
        direct_txs=tuple(bytes.fromhex(str(h)[2:]) for h in row.direct_txs), id=row.id, applied_by=row.applied_by,
        applied_at=utc(row.applied_at, "applied_at"),
    )  # fmt: skip
