"""Safe{Wallet} as tests play it: owners propose and confirm over the stand-in service's HTTP API, and a
service built to sync with it."""

from __future__ import annotations

from datetime import timedelta

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from contracts import TransactionSender
from proposals.execution import Executor
from proposals.models import SafeTxData
from proposals.safe_tx import new_safe_tx_data, read_safe_state, safe_tx_hashes, typed_data
from proposals.safe_wallet import SafeWalletLinks
from proposals.service import GovernanceService
from proposals.store import SqlStore
from proposals.tx_service import TxServiceClient
from proposals.tx_service_ops import TxServiceConfig
from proposals.tx_service_push import PushSettings
from tests.helpers.fake_tx_service import FakeTxService
from tests.helpers.governance import Governance

# Backoff in tests: the first retry is due 10 s later by the test's clock, which tests move by hand.
RETRY_BASE = timedelta(seconds=10)


def tx_client(
    gov: Governance, fake: FakeTxService, *, page_size: int = 100, api_key: str | None = None
) -> TxServiceClient:
    """Return a client of the stand-in service for gov's chain."""
    return TxServiceClient(fake.base_url, chain_id=int(gov.w3.eth.chain_id), api_key=api_key, timeout=5,
                           page_size=page_size)  # fmt: skip


def synced_service(
    gov: Governance,
    fake: FakeTxService,
    *,
    with_executor: bool = False,
    delegate: LocalAccount | None = None,
    page_size: int = 100,
    store: SqlStore | None = None,
    extra_safes: tuple[ChecksumAddress, ...] = (),
    links: SafeWalletLinks | None = None,
) -> GovernanceService:
    """Return gov's service with Transaction Service sync on, against the stand-in."""
    executor = None
    if with_executor and gov.executor_account is not None:
        executor = Executor(TransactionSender(gov.w3, gov.executor_account), gov.client)
    config = TxServiceConfig(tx_client(gov, fake, page_size=page_size),
                             PushSettings(retry_base=RETRY_BASE, delegate=delegate),
                             links or SafeWalletLinks())  # fmt: skip
    return GovernanceService(client=gov.client, store=store or gov.store, safes=[gov.safe, *extra_safes],
                             kms=gov.kms_address, settings=gov.settings(), executor=executor, clock=gov.clock,
                             tx_service=config)  # fmt: skip


def wallet_tx(gov: Governance, to: ChecksumAddress, data: bytes, *, nonce: int | None = None, value: int = 0,
              operation: int = 0, safe: ChecksumAddress | None = None) -> SafeTxData:  # fmt: skip
    """Return a Safe transaction as Safe{Wallet} builds one (no refund), at the Safe's nonce unless told."""
    state = read_safe_state(gov.w3, safe or gov.safe)
    return new_safe_tx_data(state, to, data, operation, state.nonce if nonce is None else nonce, value)


def wallet_propose(gov: Governance, fake: FakeTxService, owner: LocalAccount, tx: SafeTxData) -> bytes:
    """Propose `tx` in "Safe{Wallet}": `owner` signs it and is the sender; return its safeTxHash."""
    safe_tx_hash = safe_tx_hashes(tx).safe_tx_hash
    signature = bytes(owner.sign_typed_data(full_message=typed_data(tx)).signature)
    tx_client(gov, fake).propose(tx, safe_tx_hash, owner.address, signature)
    return safe_tx_hash


def wallet_confirm(gov: Governance, fake: FakeTxService, owner: LocalAccount, tx: SafeTxData) -> None:
    """Confirm `tx` in "Safe{Wallet}" with `owner`'s EIP-712 signature."""
    signature = bytes(owner.sign_typed_data(full_message=typed_data(tx)).signature)
    tx_client(gov, fake).confirm(safe_tx_hashes(tx).safe_tx_hash, signature)
