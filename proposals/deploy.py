"""Contract deployments that are not governance actions: a new KMS, a standalone app."""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress

from contracts import AppSettings, Receipt, TransactionSender, deploy_app, deploy_kms
from contracts.deployment import deploy_implementation
from proposals.catalogue import Group, get_action
from proposals.chain import ChainReader
from proposals.errors import InvalidInput, translate_chain_errors

ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class KmsStack:
    """A freshly deployed KMS proxy, its implementation and the app implementation."""

    kms: ChecksumAddress
    kms_implementation: ChecksumAddress
    app_implementation: ChecksumAddress | None
    owner: ChecksumAddress
    receipts: tuple[Receipt, ...]


def deploy_kms_stack(
    sender: TransactionSender,
    owner: ChecksumAddress,
    *,
    with_app_implementation: bool,
    app_implementation: ChecksumAddress | None = None,
) -> KmsStack:
    """Deploy DstackKms behind a proxy (and, if asked, a DstackApp implementation first)."""
    if with_app_implementation and app_implementation:
        raise InvalidInput("use either --with-app-impl or --app-implementation, not both")
    receipts: list[Receipt] = []
    with translate_chain_errors("kms deploy"):
        if with_app_implementation:
            impl = deploy_implementation(sender, "DstackApp")
            receipts.append(impl)
            app_implementation = impl.contract_address
        kms = deploy_kms(sender, owner, app_implementation)
    receipts.extend(kms.receipts)
    return KmsStack(kms.proxy, kms.implementation, app_implementation, owner, tuple(receipts))


@dataclass(frozen=True)
class StandaloneApp:
    """A DstackApp proxy deployed directly, and whether it was registered with the KMS."""

    app_id: ChecksumAddress
    implementation: ChecksumAddress
    registered: bool
    receipts: tuple[Receipt, ...]


def deploy_standalone_app(
    sender: TransactionSender,
    reader: ChainReader,
    settings: AppSettings,
    *,
    implementation: ChecksumAddress | None,
    register: bool,
) -> StandaloneApp:
    """Deploy a DstackApp proxy without the factory; register it with the KMS if asked."""
    kms = reader.kms
    if implementation is None:
        if kms is None:
            raise InvalidInput("no app implementation: pass --implementation or --kms")
        implementation = reader.read(Group.KMS, kms, "appImplementation")
        if implementation is None or implementation == ZERO:
            raise InvalidInput("the KMS has no app implementation set: pass --implementation")
    reader.require_code(implementation, "app implementation")
    if register and kms is None:
        raise InvalidInput("cannot register without a KMS: pass --kms or --no-register")
    with translate_chain_errors("app deploy"):
        deployment = deploy_app(sender, implementation, settings)
        receipts = list(deployment.receipts)
        if register and kms is not None:
            action = get_action("kms-register-app")
            receipts.append(sender.send(kms, action.encode({"appId": deployment.proxy})))
    return StandaloneApp(deployment.proxy, implementation, register, tuple(receipts))
