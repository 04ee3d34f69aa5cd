"""A governed deployment for tests: a Safe owning a KMS and an app, a store and the service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from safe_eth.eth import EthereumClient
from web3 import Web3

from contracts import AppSettings, TransactionSender, app_contract, deploy_app, deploy_kms, kms_contract
from contracts.deployment import deploy_implementation
from dstack_gov.safe_infra import SafeInfra, create_safe
from proposals.catalogue import get_action
from proposals.execution import Executor
from proposals.service import GovernanceService, ServiceSettings, utc_now
from proposals.store import SqlStore, open_store
from tests.helpers.chain import dev_account

EXECUTOR_INDEX = 9


@dataclass
class Clock:
    """A settable clock for expiry and timeouts."""

    now: datetime = field(default_factory=utc_now)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Governance:
    """Everything a proposals test needs; `service()` builds a fresh service on the same store."""

    w3: Web3
    client: EthereumClient
    infra: SafeInfra
    safe: ChecksumAddress
    owners: list[LocalAccount]
    threshold: int
    kms_address: ChecksumAddress
    app_address: ChecksumAddress
    app_implementation: ChecksumAddress
    db_url: str
    executor_account: LocalAccount | None
    clock: Clock
    store: SqlStore
    svc: GovernanceService

    @property
    def kms(self) -> Any:
        return kms_contract(self.w3, self.kms_address)

    @property
    def app(self) -> Any:
        return app_contract(self.w3, self.app_address)

    def settings(self) -> ServiceSettings:
        return ServiceSettings(multi_send=self.infra.multi_send_call_only,
                               simulate_accessor=self.infra.simulate_tx_accessor)  # fmt: skip

    def service(
        self,
        *,
        with_executor: bool = True,
        store: SqlStore | None = None,
        extra_safes: Sequence[ChecksumAddress] = (),
    ) -> GovernanceService:
        """Build a new service instance (as a restarted process would), knowing `extra_safes` too."""
        executor = None
        if with_executor and self.executor_account is not None:
            executor = Executor(TransactionSender(self.w3, self.executor_account), self.client)
        return GovernanceService(client=self.client, store=store or open_store(self.db_url),
                                 safes=[self.safe, *extra_safes],
                                 kms=self.kms_address, settings=self.settings(), executor=executor,
                                 clock=self.clock)  # fmt: skip

    def send_as(self, account: LocalAccount, to: ChecksumAddress, data: bytes) -> Any:
        """Send a plain transaction from `account`."""
        return TransactionSender(self.w3, account).send(to, data)

    def approve_hash(self, owner: LocalAccount, safe_tx_hash: bytes, safe: ChecksumAddress | None = None) -> None:
        """Call approveHash on chain as `owner`."""
        from safe_eth.eth.contracts import get_safe_V1_4_1_contract

        contract = get_safe_V1_4_1_contract(self.w3, safe or self.safe)
        self.send_as(owner, safe or self.safe, bytes.fromhex(contract.encode_abi("approveHash", [safe_tx_hash])[2:]))


def build_governance(
    w3: Web3,
    client: EthereumClient,
    infra: SafeInfra,
    tmp_path: Path,
    *,
    owners: int = 3,
    threshold: int = 2,
    with_executor: bool = True,
    owner_accounts: list[LocalAccount] | None = None,
    extra_owners: list[ChecksumAddress] | None = None,
    store_factory: Callable[[str], SqlStore] | None = None,
    safe_version: str = "1.4.1",
) -> Governance:
    """Deploy a Safe (dev accounts 1..n, plus `extra_owners`) that owns a fresh KMS and app."""
    deployer = dev_account(0)
    accounts = owner_accounts or [dev_account(i) for i in range(1, owners + 1)]
    addresses = [a.address for a in accounts] + list(extra_owners or [])
    safe = create_safe(client, deployer, infra, addresses, threshold, version=safe_version)
    sender = TransactionSender(w3, deployer)
    app_impl = deploy_implementation(sender, "DstackApp").contract_address
    assert app_impl is not None
    kms = deploy_kms(sender, safe, app_impl).proxy
    app = deploy_app(sender, app_impl, AppSettings(owner=safe)).proxy
    sender.send(kms, get_action("kms-register-app").encode({"appId": app}))
    db_url = f"sqlite:///{tmp_path / 'governance.sqlite'}"
    store = (store_factory or open_store)(db_url)
    clock = Clock()
    executor_account = dev_account(EXECUTOR_INDEX) if with_executor else None
    gov = Governance(w3, client, infra, safe, accounts, threshold, kms, app, app_impl, db_url, executor_account,
                     clock, store, None)  # type: ignore[arg-type]  # fmt: skip
    gov.svc = gov.service(store=store)
    return gov
