"""The DstackKms app factory on anvil: both deployAndRegisterApp overloads, end to end."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from contracts import app_contract, kms_contract, load_artifact
from contracts.deployment import deploy_implementation, deploy_kms
from tests.helpers.calls import (
    IMPLEMENTATION_SLOT,
    ZERO32,
    ZERO_ADDRESS,
    Emitted,
    address_value,
    call_as,
    emitted,
    policy_changed,
    revert_reason,
    send,
    storage_address,
)
from tests.helpers.chain import KmsFixture, boot_info, boot_tuple, dev_account

DEPLOY_6 = "deployAndRegisterApp(address,bool,bool,bool,bytes32,bytes32)"
DEPLOY_5 = "deployAndRegisterApp(address,bool,bool,bytes32,bytes32)"
OS = bytes(Web3.keccak(text="os-image"))
DEVICE = bytes(Web3.keccak(text="device"))
COMPOSE = bytes(Web3.keccak(text="compose"))


def kms_is_app_allowed(kms_setup: KmsFixture, **fields: Any) -> list[Any]:
    return list(kms_setup.kms.functions.isAppAllowed(boot_tuple(boot_info(**fields))).call())


FACTORY_CASES = [
    pytest.param(DEPLOY_6, False, False, True, ZERO32, COMPOSE, id="6-args-any-device"),
    pytest.param(DEPLOY_6, True, True, False, DEVICE, COMPOSE, id="6-args-device-tcb-no-upgrades"),
    pytest.param(DEPLOY_5, False, False, True, ZERO32, COMPOSE, id="5-args-any-device"),
    pytest.param(DEPLOY_5, True, False, False, DEVICE, ZERO32, id="5-args-device-no-upgrades"),
]


@pytest.mark.parametrize(("fn", "no_upgrades", "tcb", "any_device", "device", "compose"), FACTORY_CASES)
def test_deploy_and_register_app(
    kms_setup: KmsFixture,
    fn: str,
    no_upgrades: bool,
    tcb: bool,
    any_device: bool,
    device: bytes,
    compose: bytes,
) -> None:
    w3, kms, deployer = kms_setup.w3, kms_setup.kms, kms_setup.sender(dev_account(1))
    app_owner = dev_account(3)
    args: list[Any] = [app_owner.address, no_upgrades, tcb, any_device, device, compose]
    if fn == DEPLOY_5:
        del args[2]
    (predicted,) = w3.codec.decode(["address"], call_as(deployer, kms, fn, *args))
    receipt = send(deployer, kms, fn, *args)
    app_id = Web3.to_checksum_address(predicted)
    app = app_contract(w3, app_id)

    expected = [
        Emitted(app_id, "Upgraded", {"implementation": kms_setup.app_implementation}),
        Emitted(app_id, "OwnershipTransferred", {"previousOwner": ZERO_ADDRESS, "newOwner": app_owner.address}),
    ]
    expected += [Emitted(app_id, "AllowAnyDeviceSet", {"allowAny": True})] * any_device
    expected += [Emitted(app_id, "RequireTcbUpToDateSet", {"requireUpToDate": True})] * tcb
    expected += [Emitted(app_id, "UpgradesDisabled", {})] * no_upgrades
    expected += [Emitted(app_id, "DeviceAdded", {"deviceId": device})] * (device != ZERO32)
    expected += [Emitted(app_id, "ComposeHashAdded", {"composeHash": compose})] * (compose != ZERO32)
    expected += [
        Emitted(app_id, "Initialized", {"version": 1}),
        Emitted(kms.address, "AppRegistered", {"appId": app_id}),
        policy_changed(kms.address, deployer.address, "registeredApp", address_value(app_id), True),
        Emitted(kms.address, "AppDeployedViaFactory", {"appId": app_id, "deployer": deployer.address}),
    ]
    assert emitted(w3, receipt) == expected

    assert kms.functions.registeredApps(app_id).call() is True
    assert storage_address(w3, app_id, IMPLEMENTATION_SLOT) == kms_setup.app_implementation
    assert app.functions.owner().call() == app_owner.address
    assert app.functions.allowAnyDevice().call() is any_device
    assert app.functions.requireTcbUpToDate().call() is tcb
    assert app.functions.allowedDeviceIds(device).call() is (device != ZERO32)
    assert app.functions.allowedComposeHashes(compose).call() is (compose != ZERO32)
    assert app.functions.allowedComposeHashes(ZERO32).call() is False
    assert app.functions.allowedDeviceIds(ZERO32).call() is False
    v2 = deploy_implementation(deployer, "DstackAppV2Mock").contract_address
    if no_upgrades:
        reason = revert_reason(kms_setup.sender(app_owner), app, "upgradeToAndCall", v2, b"")
        assert reason == "Upgrades are permanently disabled"
    else:
        send(kms_setup.sender(app_owner), app, "upgradeToAndCall", v2, b"")
        assert storage_address(w3, app_id, IMPLEMENTATION_SLOT) == v2


def test_factory_apps_get_fresh_addresses_and_boot(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    args = [owner.address, False, False, True, ZERO32, COMPOSE]
    first = send(owner, kms, DEPLOY_6, *args)
    second = send(owner, kms, DEPLOY_6, *args)
    ids = [
        e.args["appId"] for r in (first, second) for e in emitted(kms_setup.w3, r) if e.name == "AppDeployedViaFactory"
    ]
    assert len(ids) == 2 and ids[0] != ids[1]
    send(owner, kms, "addOsImageHash", OS)
    for app_id in ids:
        assert kms_is_app_allowed(kms_setup, appId=app_id, composeHash=COMPOSE, osImageHash=OS) == [True, ""]


def test_factory_needs_an_app_implementation(kms_setup: KmsFixture) -> None:
    owner = kms_setup.sender()
    bare = kms_contract(kms_setup.w3, deploy_kms(owner, owner.address, None).proxy)
    assert bare.functions.appImplementation().call() == ZERO_ADDRESS
    args = [owner.address, False, True, ZERO32, COMPOSE]
    assert revert_reason(owner, bare, DEPLOY_5, *args) == "App implementation not set"
    send(owner, bare, "setAppImplementation", kms_setup.app_implementation)
    send(owner, bare, DEPLOY_5, *args)


def test_factory_uses_the_current_app_implementation(kms_setup: KmsFixture) -> None:
    w3, kms, owner = kms_setup.w3, kms_setup.kms, kms_setup.sender()
    v2 = deploy_implementation(owner, "DstackAppV2Mock").contract_address
    send(owner, kms, "setAppImplementation", v2)
    args = [owner.address, False, True, ZERO32, COMPOSE]
    (app_id,) = w3.codec.decode(["address"], call_as(owner, kms, DEPLOY_5, *args))
    send(owner, kms, DEPLOY_5, *args)
    app_v2 = w3.eth.contract(address=Web3.to_checksum_address(app_id), abi=load_artifact("DstackAppV2Mock").abi)
    assert app_v2.functions.upgradedMarker().call() == "v2"
