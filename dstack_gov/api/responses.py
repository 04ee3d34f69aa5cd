"""Response bodies, as the OpenAPI schema and docs/api.md describe them.

The endpoints build their JSON from the core's views (proposals.views) and return it as is: these models
document that JSON and tests check real bodies against them (every field, no more), so the reference and
the answers cannot drift apart. Proposal data speaks camelCase; the audit log and the reconciliation
report keep the snake_case keys they have always had.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from proposals.catalogue import Group, Kind, Risk
from proposals.models import ProposalKind, ProposalState, SignatureKind

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="A checksummed address.")]
Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$", description="32 bytes, 0x-prefixed hex.")]
HexData = Annotated[str, Field(pattern=r"^0x[0-9a-f]*$", description="Bytes, 0x-prefixed hex.")]
Wei = Annotated[str, Field(pattern=r"^[0-9]+$", description="A uint256 as a decimal string.")]
# EIP-712 numbers: JSON numbers up to 2**53, decimal strings above (wallets read numbers as doubles).
TypedNumber = int | str


class _Camel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class _Snake(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Snake):
    """Every failure: one line saying what is wrong (never a traceback, never a secret)."""

    error: str


class SafeTxBody(_Camel):
    """The Safe transaction the owners sign."""

    to: Address
    value: Wei
    data: HexData
    operation: int = Field(description="0 call, 1 delegatecall (MultiSend batches).")
    safe_tx_gas: Wei
    base_gas: Wei
    gas_price: Wei
    gas_token: Address
    refund_receiver: Address
    nonce: int
    safe_version: str


class ActionBody(_Snake):
    """One catalogue action of the proposal, with its parameters as filed."""

    action: str
    target: Address
    values: dict[str, Any]


class ExecutionBody(_Camel):
    """The transaction that executed (or failed to execute) the proposal."""

    tx_hash: Hash32
    block_number: int | None
    gas_used: int | None
    confirming: bool = Field(
        description="Mined but not final yet: fewer than [chain] confirmations blocks hold it (the state is executing)."
    )


class PlannedChangeBody(_Snake):
    """One state difference expected when the proposal was filed."""

    action: str
    index: int | None = Field(description="Which of the proposal's actions causes it (null: not recorded).")
    what: str
    before: str
    after: str


class PlannedBody(_Camel):
    """What planning found when the proposal was filed."""

    changes: list[PlannedChangeBody]
    warnings: list[str]
    simulation_gas: int | None


class ProposalSummary(_Camel):
    """A proposal as stored (no chain reads): what `GET /api/proposals` lists."""

    id: int
    kind: ProposalKind
    state: ProposalState
    title: str
    description: str
    proposer: str
    safe: Address
    chain_id: int
    nonce: int
    safe_tx_hash: Hash32
    safe_tx: SafeTxBody
    actions: list[ActionBody]
    rejects: int | None = Field(description="For a rejection: the proposal it cancels.")
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    execution: ExecutionBody | None
    failure_reason: str | None
    planned: PlannedBody | None


class HashesBody(_Camel):
    """The EIP-712 hashes of the Safe transaction."""

    safe_tx_hash: Hash32
    domain_hash: Hash32
    message_hash: Hash32


class CallBody(_Snake):
    """One inner call of the Safe transaction, in words, described from the actions stored with it."""

    to: Address
    value: Wei
    operation: int
    description: str
    action: str | None
    risk: Risk
    values: dict[str, str]


class SignatureEntry(_Snake):
    """One owner's signature and whether it counts against the Safe's current owners."""

    owner: Address
    kind: SignatureKind
    source: str
    valid: bool
    note: str = Field(description="Why it no longer counts (empty when it does).")


class ComposeUnverified(_Camel):
    """The evidence behind one action's compose hash, when no stored app-compose.json backs it."""

    index: int = Field(description="Which of the proposal's actions it is about.")
    app: Address
    compose_hash: Hash32
    risk: Risk
    concerns: list[str]
    base_hash: Hash32 | None = Field(description="The compose hash this one is compared with (null: none).")
    changes: list[str] | None = Field(description="What changes from the base's compose (null: unknown).")
    base_note: str
    verified: Literal[False]


class ComposeService(_Snake):
    """One docker compose service and whether the compose hash pins its code."""

    name: str
    image: str
    pinned: bool
    note: str = Field(description="Why the hash does not pin it (empty when it does).")


class ComposeVerified(ComposeUnverified):
    """The app-compose.json behind one action's compose hash, checked against it, and what it runs."""

    verified: Literal[True]  # type: ignore[assignment]  # the same key, the other case
    hash_of: str = Field(description="Which form of the file the compose hash is the sha256 of.")
    bytes: int
    file_sha256: Hash32
    canonical_hash: Hash32
    name: str | None
    services: list[ComposeService]
    settings: dict[str, Any]
    allowed_envs: list[str]
    pre_launch_script: bool


class ProposalDetail(ProposalSummary):
    """One proposal with its decoded calls, signatures, missing owners and hashes (reads the chain)."""

    hashes: HashesBody
    calls: list[CallBody]
    warnings: list[str]
    signatures: list[SignatureEntry]
    confirmations: int
    threshold: int
    owners: list[Address]
    missing_owners: list[Address]
    safe_nonce: int
    composes: list[ComposeVerified | ComposeUnverified] = Field(
        description="The evidence behind each compose hash the proposal allows."
    )


class TypedField(_Snake):
    """One field of an EIP-712 struct type."""

    name: str
    type: str


class TypedDomain(_Camel):
    """The Safe's EIP-712 domain."""

    chain_id: int
    verifying_contract: Address


class SafeTxMessage(_Camel):
    """The SafeTx struct, exactly the fields types.SafeTx declares."""

    to: Address
    value: TypedNumber
    data: HexData
    operation: int
    safe_tx_gas: TypedNumber
    base_gas: TypedNumber
    gas_price: TypedNumber
    gas_token: Address
    refund_receiver: Address
    nonce: TypedNumber


class TypedData(_Camel):
    """EIP-712 typed data, as eth_signTypedData_v4 and `cast wallet sign --data` take it."""

    types: dict[str, list[TypedField]]
    primary_type: Literal["SafeTx"]
    domain: TypedDomain
    message: SafeTxMessage


class SignatureAccepted(_Camel):
    """The stored signature's effect: the proposal now, and whether execution at quorum failed."""

    proposal: ProposalDetail
    confirmations: int
    threshold: int
    execution_error: str | None = Field(description="Why the quorum did not execute at once (null: no error).")


class Executed(_Snake):
    """The proposal after the execution attempt."""

    proposal: ProposalDetail


class Cancelled(_Snake):
    """The withdrawn proposal, or the signed one and the rejection proposed to cancel it."""

    proposal: ProposalDetail
    rejection: ProposalDetail | None


class Healthy(_Camel):
    """The process is alive (it says nothing of the chain or the database: /readyz does)."""

    status: Literal["ok"]


class DependencyCheck(_Camel):
    """Whether one dependency answered; `ok` is null when this process does not use it (a follower's Telegram)."""

    ok: bool | None
    detail: str


class EndpointHealthBody(_Camel):
    """One RPC endpoint (scheme://host[:port], never its key) and its health in (0, 1]."""

    endpoint: str
    health: float
    requests: int
    errors: dict[str, int]


class Readiness(_Camel):
    """Whether this replica can serve: database, RPC and Telegram (when it talks to Telegram), and its role."""

    status: Literal["ready", "not ready"]
    role: Literal["leader", "follower", "single"]
    database: DependencyCheck
    rpc: DependencyCheck
    telegram: DependencyCheck
    chain_id: int | None
    block_number: int | None
    endpoints: list[EndpointHealthBody]


class CatalogueParam(_Snake):
    """One parameter of a governance action."""

    name: str
    type: Kind
    optional: bool
    help: str


class CatalogueAction(_Camel):
    """One governance action of the catalogue (docs/actions.md)."""

    name: str
    cli_path: str
    summary: str
    risk: Risk
    group: Group
    function: str
    permissionless: bool
    params: list[CatalogueParam]


OwnerEvent = tuple[int, Address]


class ReconcileBody(_Snake):
    """What one reconciliation pass found and changed (proposal ids; pairs are [id, owner])."""

    executed_elsewhere: list[int]
    failed: list[int]
    superseded: list[int]
    cancelled: list[int]
    approvals: list[OwnerEvent]
    dropped_signatures: list[OwnerEvent]
    owner_changes: list[str]
    executed: list[int]
    expired: list[int]
    retried: list[int]
    released: list[int]
    rebroadcast: list[int]
    errors: list[str]


class AuditEntryBody(_Snake):
    """One append-only audit record."""

    id: int
    at: datetime
    proposal_id: int | None
    actor: str
    event: str
    detail: dict[str, Any]
