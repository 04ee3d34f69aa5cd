"""DstackApp on anvil: owner-only mutators and their events, boot rules, initialisers, upgrades."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract

from contracts import TransactionReverted, app_contract, load_artifact
from contracts.deployment import creation_code, deploy_implementation
from tests.helpers.calls import (
    IMPLEMENTATION_SLOT,
    ZERO32,
    ZERO_ADDRESS,
    Emitted,
    Whitelist,
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

INIT_6 = "initialize(address,bool,bool,bool,bytes32,bytes32)"
INIT_5 = "initialize(address,bool,bool,bytes32,bytes32)"
STRANGER = dev_account(1)


def h(label: str) -> bytes:
    """Return a 32-byte test value."""
    return bytes(Web3.keccak(text=label))


COMPOSE, DEVICE = h("compose"), h("device")


def is_allowed(app: Contract, **fields: Any) -> list[Any]:
    return list(app.functions.isAppAllowed(boot_tuple(boot_info(appId=app.address, **fields))).call())


OWNER_ONLY = [
    ("addComposeHash", [COMPOSE]),
    ("removeComposeHash", [COMPOSE]),
    ("addDevice", [DEVICE]),
    ("removeDevice", [DEVICE]),
    ("setAllowAnyDevice", [True]),
    ("setRequireTcbUpToDate", [True]),
    ("disableUpgrades", []),
    ("transferOwnership", [STRANGER.address]),
    ("renounceOwnership", []),
    ("upgradeToAndCall", None),  # filled in with a real implementation in the test
]


@pytest.mark.parametrize(("fn", "args"), OWNER_ONLY, ids=[fn for fn, _ in OWNER_ONLY])
def test_mutator_refuses_a_non_owner(kms_setup: KmsFixture, fn: str, args: list[Any] | None) -> None:
    app = kms_setup.new_app()
    if args is None:
        args = [kms_setup.app_implementation, b""]
    assert revert_reason(kms_setup.sender(STRANGER), app, fn, *args) == unauthorized(STRANGER.address)
    assert app.functions.owner().call() == kms_setup.owner.address


WHITELISTS = [
    ("ComposeHash", "composeHash", "allowedComposeHashes", "composeHash"),
    ("Device", "deviceId", "allowedDeviceIds", "device"),
]


@pytest.mark.parametrize(("item", "arg", "getter", "policy"), WHITELISTS, ids=[w[0] for w in WHITELISTS])
def test_whitelist_add_and_remove_emit_events(
    kms_setup: KmsFixture, item: str, arg: str, getter: str, policy: str
) -> None:
    app, spec = kms_setup.new_app(), Whitelist(item, arg, getter, policy)
    assert_whitelist_round_trip(kms_setup.w3, kms_setup.sender(), app, spec, h(item), h("other"))


FLAGS = [
    ("setAllowAnyDevice", "AllowAnyDeviceSet", "allowAny", "allowAnyDevice", "allowAnyDevice"),
    ("setRequireTcbUpToDate", "RequireTcbUpToDateSet", "requireUpToDate", "requireTcbUpToDate", "requireTcbUpToDate"),
]


@pytest.mark.parametrize(("fn", "event", "arg", "getter", "policy"), FLAGS, ids=[f[0] for f in FLAGS])
def test_flag_setters_emit_events(
    kms_setup: KmsFixture, fn: str, event: str, arg: str, getter: str, policy: str
) -> None:
    app, owner = kms_setup.new_app(), kms_setup.sender()
    for value in (True, False, True):
        receipt = send(owner, app, fn, value)
        assert emitted(kms_setup.w3, receipt) == [
            Emitted(app.address, event, {arg: value}),
            policy_changed(app.address, owner.address, policy, ZERO32, value),
        ]
        assert app.functions[getter]().call() is value


def test_flags_are_independent(kms_setup: KmsFixture) -> None:
    app, owner = kms_setup.new_app(), kms_setup.sender()
    send(owner, app, "setRequireTcbUpToDate", True)
    assert (app.functions.allowAnyDevice().call(), app.functions.requireTcbUpToDate().call()) == (False, True)
    send(owner, app, "setAllowAnyDevice", True)
    send(owner, app, "setRequireTcbUpToDate", False)
    assert (app.functions.allowAnyDevice().call(), app.functions.requireTcbUpToDate().call()) == (True, False)
    send(owner, app, "disableUpgrades")
    assert (app.functions.allowAnyDevice().call(), app.functions.requireTcbUpToDate().call()) == (True, False)


# --- boot rules -------------------------------------------------------------------------------------------

GOOD = {"composeHash": COMPOSE, "deviceId": DEVICE, "tcbStatus": "UpToDate"}
TCB = "TCB status is not up to date"
RULES = [
    # (requireTcbUpToDate, allowAnyDevice, boot-info overrides, expected)
    pytest.param(True, False, {"tcbStatus": "OutOfDate", "composeHash": h("x"), "deviceId": h("y")}, [False, TCB],
                 id="tcb-wins-over-everything"),
    pytest.param(True, False, {"tcbStatus": ""}, [False, TCB], id="tcb-empty"),
    pytest.param(True, False, {"tcbStatus": "uptodate"}, [False, TCB], id="tcb-case-sensitive"),
    pytest.param(True, True, {"tcbStatus": "UpToDate\x00"}, [False, TCB], id="tcb-exact-bytes"),
    pytest.param(False, False, {"tcbStatus": "OutOfDate", "composeHash": h("x"), "deviceId": h("y")},
                 [False, "Compose hash not allowed"], id="tcb-not-required-compose-next"),
    pytest.param(True, False, {"composeHash": h("x"), "deviceId": h("y")}, [False, "Compose hash not allowed"],
                 id="compose-wins-over-device"),
    pytest.param(True, True, {"composeHash": ZERO32}, [False, "Compose hash not allowed"], id="zero-compose"),
    pytest.param(True, False, {"deviceId": h("y")}, [False, "Device not allowed"], id="device"),
    pytest.param(False, False, {"tcbStatus": "OutOfDate", "deviceId": ZERO32}, [False, "Device not allowed"],
                 id="zero-device"),
    pytest.param(True, True, {"deviceId": h("y")}, [True, ""], id="any-device"),
    pytest.param(False, False, {"tcbStatus": "OutOfDate"}, [True, ""], id="tcb-not-required"),
    pytest.param(True, False, {}, [True, ""], id="all-good"),
]  # fmt: skip


@pytest.mark.parametrize(("tcb", "any_device", "overrides", "expected"), RULES)
def test_is_app_allowed_rules_in_order(
    kms_setup: KmsFixture, tcb: bool, any_device: bool, overrides: dict[str, Any], expected: list[Any]
) -> None:
    app = kms_setup.new_app(
        require_tcb_up_to_date=tcb, allow_any_device=any_device, initial_device_id=DEVICE, initial_compose_hash=COMPOSE
    )
    assert is_allowed(app, **{**GOOD, **overrides}) == expected
    # The KMS passes the app's verdict through unchanged once its own rules pass.
    image = h("os")
    send(kms_setup.sender(), kms_setup.kms, "addOsImageHash", image)
    fields = boot_info(appId=app.address, osImageHash=image, **{**GOOD, **overrides})
    assert list(kms_setup.kms.functions.isAppAllowed(boot_tuple(fields)).call()) == expected


def test_whitelist_changes_take_effect(kms_setup: KmsFixture) -> None:
    app, owner = kms_setup.new_app(), kms_setup.sender()
    assert is_allowed(app, **GOOD) == [False, "Compose hash not allowed"]
    send(owner, app, "addComposeHash", COMPOSE)
    assert is_allowed(app, **GOOD) == [False, "Device not allowed"]
    send(owner, app, "addDevice", DEVICE)
    assert is_allowed(app, **GOOD) == [True, ""]
    send(owner, app, "removeDevice", DEVICE)
    assert is_allowed(app, **GOOD) == [False, "Device not allowed"]
    send(owner, app, "setAllowAnyDevice", True)
    assert is_allowed(app, **GOOD) == [True, ""]
    send(owner, app, "setRequireTcbUpToDate", True)
    assert is_allowed(app, **{**GOOD, "tcbStatus": "OutOfDate"}) == [False, TCB]
    send(owner, app, "removeComposeHash", COMPOSE)
    assert is_allowed(app, **GOOD) == [False, "Compose hash not allowed"]


# --- initialisation, ERC-165, upgrades --------------------------------------------------------------------

INIT_ARGS = {
    INIT_6: [STRANGER.address, False, False, True, ZERO32, COMPOSE],
    INIT_5: [STRANGER.address, False, True, ZERO32, COMPOSE],
}


@pytest.mark.parametrize("fn", [INIT_6, INIT_5], ids=["6-args", "5-args"])
def test_initialize_runs_once_and_the_implementation_is_locked(kms_setup: KmsFixture, fn: str) -> None:
    app, anyone = kms_setup.new_app(), kms_setup.sender(STRANGER)
    assert revert_reason(kms_setup.sender(), app, fn, *INIT_ARGS[fn]) == "InvalidInitialization()"
    assert revert_reason(anyone, app, fn, *INIT_ARGS[fn]) == "InvalidInitialization()"
    implementation = app_contract(kms_setup.w3, kms_setup.app_implementation)
    assert revert_reason(anyone, implementation, fn, *INIT_ARGS[fn]) == "InvalidInitialization()"
    assert implementation.functions.owner().call() == ZERO_ADDRESS
    assert app.functions.owner().call() == kms_setup.owner.address


@pytest.mark.parametrize("fn", [INIT_6, INIT_5], ids=["6-args", "5-args"])
def test_initialize_through_a_proxy(kms_setup: KmsFixture, fn: str) -> None:
    w3, owner = kms_setup.w3, kms_setup.sender()
    implementation = app_contract(w3, kms_setup.app_implementation)
    args: list[Any] = [dev_account(3).address, True, True, False, DEVICE, COMPOSE]
    if fn == INIT_5:
        del args[2]
    code = creation_code(
        "ERC1967Proxy", ["address", "bytes"], [implementation.address, calldata(implementation, fn, *args)]
    )
    receipt = owner.deploy(code)
    assert receipt.contract_address is not None
    proxy = receipt.contract_address
    app = app_contract(w3, proxy)
    tcb = fn == INIT_6
    assert emitted(w3, receipt) == [
        Emitted(proxy, "Upgraded", {"implementation": implementation.address}),
        Emitted(proxy, "OwnershipTransferred", {"previousOwner": ZERO_ADDRESS, "newOwner": dev_account(3).address}),
        *[Emitted(proxy, "RequireTcbUpToDateSet", {"requireUpToDate": True})] * tcb,
        Emitted(proxy, "UpgradesDisabled", {}),
        Emitted(proxy, "DeviceAdded", {"deviceId": DEVICE}),
        Emitted(proxy, "ComposeHashAdded", {"composeHash": COMPOSE}),
        Emitted(proxy, "Initialized", {"version": 1}),
    ]
    assert app.functions.owner().call() == dev_account(3).address
    assert app.functions.requireTcbUpToDate().call() is tcb
    assert app.functions.allowAnyDevice().call() is False
    assert app.functions.allowedDeviceIds(DEVICE).call() is True
    assert app.functions.allowedComposeHashes(COMPOSE).call() is True


@pytest.mark.parametrize("fn", [INIT_6, INIT_5], ids=["6-args", "5-args"])
def test_initialize_rejects_a_zero_owner(kms_setup: KmsFixture, fn: str) -> None:
    implementation = app_contract(kms_setup.w3, kms_setup.app_implementation)
    args = [ZERO_ADDRESS, *INIT_ARGS[fn][1:]]
    code = creation_code(
        "ERC1967Proxy", ["address", "bytes"], [implementation.address, calldata(implementation, fn, *args)]
    )
    with pytest.raises(TransactionReverted) as caught:
        kms_setup.sender().deploy(code)
    assert caught.value.reason == "Invalid owner address"


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [("0x1e079198", True), ("0x8fd37527", True), ("0x01ffc9a7", True), ("0xffffffff", False), ("0x00000000", False)],
)
def test_supports_interface(kms_setup: KmsFixture, interface_id: str, supported: bool) -> None:
    app = kms_setup.new_app()
    assert app.functions.supportsInterface(bytes.fromhex(interface_id[2:])).call() is supported


def test_version(kms_setup: KmsFixture) -> None:
    assert kms_setup.new_app().functions.version().call() == 2


def test_owner_upgrades_to_v2_and_state_survives(kms_setup: KmsFixture) -> None:
    w3, owner = kms_setup.w3, kms_setup.sender()
    app = kms_setup.new_app(require_tcb_up_to_date=True, initial_device_id=DEVICE, initial_compose_hash=COMPOSE)
    send(owner, app, "addComposeHash", h("second"))
    v2 = deploy_implementation(owner, "DstackAppV2Mock").contract_address
    receipt = send(owner, app, "upgradeToAndCall", v2, b"")
    assert emitted(w3, receipt) == [Emitted(app.address, "Upgraded", {"implementation": v2})]
    assert storage_address(w3, app.address, IMPLEMENTATION_SLOT) == v2
    upgraded = w3.eth.contract(address=app.address, abi=load_artifact("DstackAppV2Mock").abi)
    assert upgraded.functions.upgradedMarker().call() == "v2"
    assert app.functions.owner().call() == owner.address
    assert app.functions.requireTcbUpToDate().call() is True
    assert app.functions.allowAnyDevice().call() is False
    for compose in (COMPOSE, h("second")):
        assert app.functions.allowedComposeHashes(compose).call() is True
    assert is_allowed(app, **GOOD) == [True, ""]
    assert is_allowed(app, **{**GOOD, "tcbStatus": "OutOfDate"}) == [False, TCB]


def test_stranger_cannot_upgrade(kms_setup: KmsFixture) -> None:
    app = kms_setup.new_app()
    v2 = deploy_implementation(kms_setup.sender(), "DstackAppV2Mock").contract_address
    reason = revert_reason(kms_setup.sender(STRANGER), app, "upgradeToAndCall", v2, b"")
    assert reason == unauthorized(STRANGER.address)
    assert storage_address(kms_setup.w3, app.address, IMPLEMENTATION_SLOT) == kms_setup.app_implementation


def test_disable_upgrades_is_permanent(kms_setup: KmsFixture) -> None:
    w3, owner = kms_setup.w3, kms_setup.sender()
    app = kms_setup.new_app()
    v2 = deploy_implementation(owner, "DstackAppV2Mock").contract_address
    receipt = send(owner, app, "disableUpgrades")
    assert emitted(w3, receipt) == [
        Emitted(app.address, "UpgradesDisabled", {}),
        policy_changed(app.address, owner.address, "upgradesDisabled", ZERO32, True),
    ]
    assert revert_reason(owner, app, "upgradeToAndCall", v2, b"") == "Upgrades are permanently disabled"
    # The owner check still comes first, and the rest of the policy stays editable.
    reason = revert_reason(kms_setup.sender(STRANGER), app, "upgradeToAndCall", v2, b"")
    assert reason == unauthorized(STRANGER.address)
    send(owner, app, "addComposeHash", COMPOSE)
    # Disabling again is allowed and changes nothing; a new owner cannot undo it either.
    send(owner, app, "disableUpgrades")
    send(owner, app, "transferOwnership", STRANGER.address)
    send(kms_setup.sender(STRANGER), app, "acceptOwnership")
    reason = revert_reason(kms_setup.sender(STRANGER), app, "upgradeToAndCall", v2, b"")
    assert reason == "Upgrades are permanently disabled"
    assert storage_address(w3, app.address, IMPLEMENTATION_SLOT) == kms_setup.app_implementation
