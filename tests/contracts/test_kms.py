"""DstackKms on anvil: owner-only mutators and their events, boot rules, registry, factory, upgrades."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from contracts import TransactionReverted, TransactionSender, kms_contract, load_artifact
from contracts.deployment import creation_code, deploy_implementation, deploy_kms
from tests.helpers.calls import (
    IMPLEMENTATION_SLOT,
    ZERO_ADDRESS,
    Emitted,
    Whitelist,
    address_value,
    assert_whitelist_round_trip,
    calldata,
    emitted,
    policy_changed,
    revert_reason,
    send,
    storage_address,
    unauthorized,
)
from tests.helpers.chain import KmsFixture, boot_info, boot_tuple, dev_account


def h(label: str) -> bytes:
    """Return a 32-byte test value."""
    return bytes(Web3.keccak(text=label))


OS, MR, DEVICE, COMPOSE = h("os-image"), h("mr-aggregated"), h("kms-device"), h("compose")
STRANGER = dev_account(1)


def stranger(kms_setup: KmsFixture) -> TransactionSender:
    return kms_setup.sender(STRANGER)


def kms_is_app_allowed(kms_setup: KmsFixture, **fields: Any) -> list[Any]:
    return list(kms_setup.kms.functions.isAppAllowed(boot_tuple(boot_info(**fields))).call())


def kms_is_kms_allowed(kms_setup: KmsFixture, **fields: Any) -> list[Any]:
    return list(kms_setup.kms.functions.isKmsAllowed(boot_tuple(boot_info(**fields))).call())


OWNER_ONLY = [
    ("addOsImageHash", [OS]),
    ("removeOsImageHash", [OS]),
    ("addKmsAggregatedMr", [MR]),
    ("removeKmsAggregatedMr", [MR]),
    ("addKmsDevice", [DEVICE]),
    ("removeKmsDevice", [DEVICE]),
    ("setGatewayAppId", ["gateway"]),
    ("setAppImplementation", [STRANGER.address]),
    ("setKmsInfo", [(b"\x02" * 33, b"ca", b"quote", b"log")]),
    ("setKmsQuote", [b"quote"]),
    ("setKmsEventlog", [b"log"]),
    ("transferOwnership", [STRANGER.address]),
    ("renounceOwnership", []),
    ("upgradeToAndCall", None),  # filled in with a real implementation in the test
]


@pytest.mark.parametrize(("fn", "args"), OWNER_ONLY, ids=[fn for fn, _ in OWNER_ONLY])
def test_mutator_refuses_a_non_owner(kms_setup: KmsFixture, fn: str, args: list[Any] | None) -> None:
    if args is None:
        args = [kms_setup.kms_implementation, b""]
    assert revert_reason(stranger(kms_setup), kms_setup.kms, fn, *args) == unauthorized(STRANGER.address)
    assert kms_setup.kms.functions.owner().call() == kms_setup.owner.address


WHITELISTS = [
    ("OsImageHash", "osImageHash", "allowedOsImages", "osImage"),
    ("KmsAggregatedMr", "mrAggregated", "kmsAllowedAggregatedMrs", "kmsAggregatedMr"),
    ("KmsDevice", "deviceId", "kmsAllowedDeviceIds", "kmsDevice"),
]


@pytest.mark.parametrize(("item", "arg", "getter", "policy"), WHITELISTS, ids=[w[0] for w in WHITELISTS])
def test_whitelist_add_and_remove_emit_events(
    kms_setup: KmsFixture, item: str, arg: str, getter: str, policy: str
) -> None:
    assert_whitelist_round_trip(kms_setup.w3, kms_setup.sender(), kms_setup.kms, Whitelist(item, arg, getter, policy),
                                h(item), h("other"))  # fmt: skip


def test_set_gateway_app_id(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    gateway = "8a3b0c4f1d2e5a6b7c8d9e0f1a2b3c4d5e6f7a8b"
    receipt = send(owner, kms, "setGatewayAppId", gateway)
    assert emitted(kms_setup.w3, receipt) == [
        Emitted(kms.address, "GatewayAppIdSet", {"gatewayAppId": gateway}),
        policy_changed(kms.address, owner.address, "gatewayAppId", h_bytes(gateway.encode()), True),
    ]
    assert kms.functions.gatewayAppId().call() == gateway


def h_bytes(data: bytes) -> bytes:
    """Return keccak256 of raw bytes."""
    return bytes(Web3.keccak(data))


def test_set_app_implementation(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    new_impl = deploy_implementation(owner, "DstackAppV2Mock").contract_address
    assert new_impl is not None
    receipt = send(owner, kms, "setAppImplementation", new_impl)
    assert emitted(kms_setup.w3, receipt) == [
        Emitted(kms.address, "AppImplementationSet", {"implementation": new_impl}),
        policy_changed(kms.address, owner.address, "appImplementation", address_value(new_impl), True),
    ]
    assert kms.functions.appImplementation().call() == new_impl
    assert revert_reason(owner, kms, "setAppImplementation", ZERO_ADDRESS) == "Invalid implementation address"


def test_set_kms_info_quote_and_eventlog(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    info = (b"\x02" + h("k256"), b"\x30" * 91, b"\x51" * 300, b"\x7b" * 200)
    receipt = send(owner, kms, "setKmsInfo", info)
    assert emitted(kms_setup.w3, receipt) == [
        Emitted(kms.address, "KmsInfoSet", {"k256Pubkey": info[0]}),
        policy_changed(kms.address, owner.address, "kmsInfo", h_bytes(info[0]), True),
    ]
    assert kms.functions.kmsInfo().call() == list(info)

    receipt = send(owner, kms, "setKmsQuote", b"new quote")
    assert emitted(kms_setup.w3, receipt) == [
        policy_changed(kms.address, owner.address, "kmsQuote", h_bytes(b"new quote"), True)
    ]
    receipt = send(owner, kms, "setKmsEventlog", b"new log")
    assert emitted(kms_setup.w3, receipt) == [
        policy_changed(kms.address, owner.address, "kmsEventlog", h_bytes(b"new log"), True)
    ]
    assert kms.functions.kmsInfo().call() == [info[0], info[1], b"new quote", b"new log"]


def test_register_app_is_permissionless(kms_setup: KmsFixture) -> None:
    kms, anyone = kms_setup.kms, stranger(kms_setup)
    app_id = dev_account(5).address
    receipt = send(anyone, kms, "registerApp", app_id)
    assert emitted(kms_setup.w3, receipt) == [
        Emitted(kms.address, "AppRegistered", {"appId": app_id}),
        policy_changed(kms.address, anyone.address, "registeredApp", address_value(app_id), True),
    ]
    assert kms.functions.registeredApps(app_id).call() is True
    assert kms.functions.registeredApps(dev_account(6).address).call() is False


def test_register_app_rejects_the_zero_address(kms_setup: KmsFixture) -> None:
    assert revert_reason(stranger(kms_setup), kms_setup.kms, "registerApp", ZERO_ADDRESS) == "Invalid app ID"


# --- boot rules -------------------------------------------------------------------------------------------


def test_is_app_allowed_rules_in_order(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    app = kms_setup.new_app(initial_compose_hash=COMPOSE, initial_device_id=DEVICE)
    eoa = dev_account(6).address
    good = {"composeHash": COMPOSE, "deviceId": DEVICE, "osImageHash": OS}

    # 1. Unregistered wins over every other failure (no code at the address, image unknown).
    assert kms_is_app_allowed(kms_setup, appId=eoa, composeHash=h("x")) == [False, "App not registered"]
    assert kms_is_app_allowed(kms_setup, appId=dev_account(7).address, **good) == [
        False,
        "App not registered",
    ]
    # 2. Registered, image not whitelisted: beats "no code" and the app's own verdict.
    send(owner, kms, "registerApp", eoa)
    assert kms_is_app_allowed(kms_setup, appId=eoa) == [False, "OS image is not allowed"]
    assert kms_is_app_allowed(kms_setup, appId=app.address, composeHash=h("x")) == [
        False,
        "OS image is not allowed",
    ]
    # 3. Registered and image whitelisted, but no contract there.
    send(owner, kms, "addOsImageHash", OS)
    assert kms_is_app_allowed(kms_setup, appId=eoa, **good) == [False, "App not deployed or invalid address"]
    # 4. Otherwise the app decides, reason and all.
    assert kms_is_app_allowed(kms_setup, appId=app.address, **good) == [True, ""]
    assert kms_is_app_allowed(kms_setup, appId=app.address, **{**good, "composeHash": h("x")}) == [
        False,
        "Compose hash not allowed",
    ]
    assert kms_is_app_allowed(kms_setup, appId=app.address, **{**good, "deviceId": h("x")}) == [
        False,
        "Device not allowed",
    ]
    # Removing the image closes the door again.
    send(owner, kms, "removeOsImageHash", OS)
    assert kms_is_app_allowed(kms_setup, appId=app.address, **good) == [False, "OS image is not allowed"]


def test_is_app_allowed_asks_any_iappauth_contract(kms_setup: KmsFixture) -> None:
    owner = kms_setup.sender()
    receipt = owner.deploy(creation_code("AllowlistAppAuth"))
    assert receipt.contract_address is not None
    custom = kms_setup.w3.eth.contract(address=receipt.contract_address, abi=load_artifact("AllowlistAppAuth").abi)
    send(owner, kms_setup.kms, "registerApp", custom.address)
    send(owner, kms_setup.kms, "addOsImageHash", OS)
    instance = dev_account(9).address
    fields = {
        "appId": custom.address,
        "osImageHash": OS,
        "instanceId": instance,
        "advisoryIds": ["INTEL-SA-1"],
    }
    assert kms_is_app_allowed(kms_setup, **fields) == [False, "Instance not on the allowlist"]
    send(owner, custom, "setInstance", instance, True)
    assert kms_is_app_allowed(kms_setup, **fields) == [True, ""]


def test_is_kms_allowed_rules_in_order(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    good = {"osImageHash": OS, "mrAggregated": MR, "deviceId": DEVICE}
    for status in ("OutOfDate", "", "uptodate", "UpToDate ", "SWHardeningNeeded"):
        assert kms_is_kms_allowed(kms_setup, tcbStatus=status) == [False, "TCB status is not up to date"]
    assert kms_is_kms_allowed(kms_setup, **good) == [False, "OS image is not allowed"]
    send(owner, kms, "addOsImageHash", OS)
    assert kms_is_kms_allowed(kms_setup, **good, tcbStatus="OutOfDate") == [
        False,
        "TCB status is not up to date",
    ]
    assert kms_is_kms_allowed(kms_setup, **good) == [False, "Aggregated MR not allowed"]
    send(owner, kms, "addKmsAggregatedMr", MR)
    assert kms_is_kms_allowed(kms_setup, **good) == [False, "KMS is not allowed to boot on this device"]
    send(owner, kms, "addKmsDevice", DEVICE)
    assert kms_is_kms_allowed(kms_setup, **good) == [True, ""]
    assert kms_is_kms_allowed(kms_setup, **{**good, "tcbStatus": "OutOfDate"}) == [
        False,
        "TCB status is not up to date",
    ]
    send(owner, kms, "removeKmsAggregatedMr", MR)
    assert kms_is_kms_allowed(kms_setup, **good) == [False, "Aggregated MR not allowed"]
    send(owner, kms, "addKmsAggregatedMr", MR)
    send(owner, kms, "removeKmsDevice", DEVICE)
    assert kms_is_kms_allowed(kms_setup, **good) == [False, "KMS is not allowed to boot on this device"]


# --- initialisation, ERC-165, upgrades --------------------------------------------------------------------


def test_initialize_runs_once_and_the_implementation_is_locked(kms_setup: KmsFixture) -> None:
    owner, kms = kms_setup.sender(), kms_setup.kms
    args = [STRANGER.address, kms_setup.app_implementation]
    assert revert_reason(owner, kms, "initialize", *args) == "InvalidInitialization()"
    assert revert_reason(stranger(kms_setup), kms, "initialize", *args) == "InvalidInitialization()"
    implementation = kms_contract(kms_setup.w3, kms_setup.kms_implementation)
    assert revert_reason(stranger(kms_setup), implementation, "initialize", *args) == "InvalidInitialization()"
    assert implementation.functions.owner().call() == ZERO_ADDRESS
    assert kms.functions.owner().call() == kms_setup.owner.address


def test_initialize_rejects_a_zero_owner(kms_setup: KmsFixture) -> None:
    owner = kms_setup.sender()
    init = calldata(kms_setup.kms, "initialize", ZERO_ADDRESS, kms_setup.app_implementation)
    code = creation_code("ERC1967Proxy", ["address", "bytes"], [kms_setup.kms_implementation, init])
    with pytest.raises(TransactionReverted) as caught:
        owner.deploy(code)
    assert caught.value.reason == "Invalid owner address"


def test_initialize_emits_its_events(kms_setup: KmsFixture) -> None:
    owner = kms_setup.sender()
    deployment = deploy_kms(owner, kms_setup.owner.address, kms_setup.app_implementation)
    proxy = deployment.proxy
    assert emitted(kms_setup.w3, deployment.receipts[-1], only=[proxy]) == [
        Emitted(proxy, "Upgraded", {"implementation": deployment.implementation}),
        Emitted(proxy, "OwnershipTransferred", {"previousOwner": ZERO_ADDRESS, "newOwner": owner.address}),
        Emitted(proxy, "AppImplementationSet", {"implementation": kms_setup.app_implementation}),
        Emitted(proxy, "Initialized", {"version": 1}),
    ]


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [
        ("0x1e079198", True),
        ("0x01ffc9a7", True),
        ("0x8fd37527", False),
        ("0xffffffff", False),
        ("0x00000000", False),
    ],
)
def test_supports_interface(kms_setup: KmsFixture, interface_id: str, supported: bool) -> None:
    assert kms_setup.kms.functions.supportsInterface(bytes.fromhex(interface_id[2:])).call() is supported


def test_owner_upgrades_to_v2_and_state_survives(kms_setup: KmsFixture) -> None:
    w3, kms, owner = kms_setup.w3, kms_setup.kms, kms_setup.sender()
    app = kms_setup.new_app(allow_any_device=True, initial_compose_hash=COMPOSE)
    for fn, value in (("addOsImageHash", OS), ("addKmsAggregatedMr", MR), ("addKmsDevice", DEVICE)):
        send(owner, kms, fn, value)
    send(owner, kms, "setGatewayAppId", "gateway-app")
    info = (b"\x02" * 33, b"ca", b"quote", b"log")
    send(owner, kms, "setKmsInfo", info)

    v2 = deploy_implementation(owner, "DstackKmsV2Mock").contract_address
    receipt = send(owner, kms, "upgradeToAndCall", v2, b"")
    assert emitted(w3, receipt) == [Emitted(kms.address, "Upgraded", {"implementation": v2})]
    assert storage_address(w3, kms.address, IMPLEMENTATION_SLOT) == v2
    upgraded = w3.eth.contract(address=kms.address, abi=load_artifact("DstackKmsV2Mock").abi)
    assert upgraded.functions.upgradedMarker().call() == "v2"

    assert kms.functions.owner().call() == owner.address
    assert kms.functions.appImplementation().call() == kms_setup.app_implementation
    assert kms.functions.gatewayAppId().call() == "gateway-app"
    assert kms.functions.kmsInfo().call() == list(info)
    assert kms.functions.registeredApps(app.address).call() is True
    assert kms_is_kms_allowed(kms_setup, osImageHash=OS, mrAggregated=MR, deviceId=DEVICE) == [True, ""]
    assert kms_is_app_allowed(kms_setup, appId=app.address, composeHash=COMPOSE, osImageHash=OS) == [True, ""]
    # Still owner-only after the upgrade.
    assert revert_reason(stranger(kms_setup), kms, "addOsImageHash", MR) == unauthorized(STRANGER.address)


def test_upgrade_can_call_the_new_implementation(kms_setup: KmsFixture) -> None:
    kms, owner = kms_setup.kms, kms_setup.sender()
    v2 = deploy_implementation(owner, "DstackKmsV2Mock").contract_address
    receipt = send(owner, kms, "upgradeToAndCall", v2, calldata(kms, "addOsImageHash", OS))
    assert emitted(kms_setup.w3, receipt) == [
        Emitted(kms.address, "Upgraded", {"implementation": v2}),
        Emitted(kms.address, "OsImageHashAdded", {"osImageHash": OS}),
        policy_changed(kms.address, owner.address, "osImage", OS, True),
    ]
    assert kms.functions.allowedOsImages(OS).call() is True


def test_upgrade_refuses_strangers_and_non_uups_targets(kms_setup: KmsFixture) -> None:
    w3, kms, owner = kms_setup.w3, kms_setup.kms, kms_setup.sender()
    v2 = deploy_implementation(owner, "DstackKmsV2Mock").contract_address
    assert v2 is not None
    assert revert_reason(stranger(kms_setup), kms, "upgradeToAndCall", v2, b"") == unauthorized(STRANGER.address)
    plain = owner.deploy(creation_code("AllowlistAppAuth")).contract_address
    assert plain is not None
    reason = revert_reason(owner, kms, "upgradeToAndCall", plain, b"")
    assert reason == f"ERC1967InvalidImplementation({plain.lower()})"
    assert storage_address(w3, kms.address, IMPLEMENTATION_SLOT) == kms_setup.kms_implementation
    # The bare implementation refuses to be upgraded in its own context.
    implementation = kms_contract(w3, kms_setup.kms_implementation)
    assert revert_reason(owner, implementation, "upgradeToAndCall", v2, b"") == "UUPSUnauthorizedCallContext()"
