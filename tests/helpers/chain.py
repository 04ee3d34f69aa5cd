"""Chain helpers for tests: dev accounts, deployments and boot infos."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import AppSettings, TransactionSender, app_contract, deploy_app, deploy_kms, kms_contract
from contracts.deployment import deploy_implementation

Account.enable_unaudited_hdwallet_features()
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def dev_account(index: int) -> LocalAccount:
    """Return anvil's funded dev account number `index`."""
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class KmsFixture:
    """A DstackKms proxy with its DstackApp implementation, owned by `owner`."""

    w3: Web3
    owner: LocalAccount
    kms_address: ChecksumAddress
    kms_implementation: ChecksumAddress
    app_implementation: ChecksumAddress

    @property
    def kms(self) -> Any:
        return kms_contract(self.w3, self.kms_address)

    def sender(self, account: LocalAccount | None = None) -> TransactionSender:
        return TransactionSender(self.w3, account or self.owner)

    def new_app(self, owner: ChecksumAddress | None = None, **settings: Any) -> Any:
        """Deploy an app proxy directly and register it with the KMS; return the bound contract."""
        deployment = deploy_app(
            self.sender(), self.app_implementation, AppSettings(owner=owner or self.owner.address, **settings)
        )
        self.sender().send(self.kms_address, bytes.fromhex(self.kms.encode_abi("registerApp", [deployment.proxy])[2:]))
        return app_contract(self.w3, deployment.proxy)


def deploy_kms_fixture(w3: Web3, owner: LocalAccount) -> KmsFixture:
    """Deploy the DstackApp implementation and a DstackKms proxy owned by `owner`."""
    sender = TransactionSender(w3, owner)
    app_impl = deploy_implementation(sender, "DstackApp").contract_address
    assert app_impl is not None
    kms = deploy_kms(sender, owner.address, app_impl)
    return KmsFixture(w3, owner, kms.proxy, kms.implementation, app_impl)


def boot_info(**overrides: Any) -> dict[str, Any]:
    """Return a boot-info dict (contract field names) with zeroed defaults."""
    info: dict[str, Any] = {
        "appId": "0x" + "00" * 20,
        "composeHash": b"\x00" * 32,
        "instanceId": "0x" + "00" * 20,
        "deviceId": b"\x00" * 32,
        "mrAggregated": b"\x00" * 32,
        "mrSystem": b"\x00" * 32,
        "osImageHash": b"\x00" * 32,
        "tcbStatus": "UpToDate",
        "advisoryIds": [],
    }
    info.update(overrides)
    return info


def boot_tuple(info: dict[str, Any]) -> tuple[Any, ...]:
    """Return the ABI tuple of a boot-info dict, in struct order."""
    keys = (
        "appId",
        "composeHash",
        "instanceId",
        "deviceId",
        "mrAggregated",
        "mrSystem",
        "osImageHash",
        "tcbStatus",
        "advisoryIds",
    )
    return tuple(info[k] for k in keys)
