"""The DstackApp actions; their target is the app contract (the App ID)."""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import ChecksumAddress

from .common import bytes32_param, ownership_actions
from .model import (
    Action,
    Finding,
    Group,
    MembershipEffect,
    Risk,
    SettingEffect,
    Severity,
    StateReader,
    Values,
)
from .params import Kind, Param

APP = Group.APP


def _irreversible(reader: StateReader, target: ChecksumAddress, values: Values) -> list[Finding]:
    return [Finding(Severity.WARN, "this cannot be undone: the app can never be upgraded again")]


APP_ACTIONS: Sequence[Action] = (
    Action(APP, "add-hash", "Allow a compose hash (an app version) to boot.", "addComposeHash(bytes32)",
           (bytes32_param("composeHash", "the compose hash"),), "Allow compose hash {composeHash} on app {target}",
           effect=MembershipEffect("allowedComposeHashes", "composeHash", True, "compose hash"),
           compose_param="composeHash"),
    Action(APP, "remove-hash", "Stop a compose hash from booting.", "removeComposeHash(bytes32)",
           (bytes32_param("composeHash", "the compose hash"),),
           "Disallow compose hash {composeHash} on app {target}", risk=Risk.MEDIUM,
           effect=MembershipEffect("allowedComposeHashes", "composeHash", False, "compose hash")),
    Action(APP, "add-device", "Allow the app to boot on a device.", "addDevice(bytes32)",
           (bytes32_param("deviceId", "the device id"),), "Allow device {deviceId} for app {target}",
           effect=MembershipEffect("allowedDeviceIds", "deviceId", True, "device")),
    Action(APP, "remove-device", "Stop the app from booting on a device.", "removeDevice(bytes32)",
           (bytes32_param("deviceId", "the device id"),), "Disallow device {deviceId} for app {target}",
           risk=Risk.MEDIUM, effect=MembershipEffect("allowedDeviceIds", "deviceId", False, "device")),
    Action(APP, "set-allow-any-device", "Let the app boot on any device, or only on listed ones.",
           "setAllowAnyDevice(bool)", (Param("allowAny", Kind.BOOL, "true: any device; false: listed only"),),
           "Set allow-any-device of app {target} to {allowAny}", risk=Risk.MEDIUM,
           effect=SettingEffect("allowAnyDevice", "allow any device", param="allowAny")),
    Action(APP, "set-require-tcb", "Require (or stop requiring) an up-to-date TCB to boot.",
           "setRequireTcbUpToDate(bool)",
           (Param("requireUpToDate", Kind.BOOL, "true: refuse boots whose TCB is not up to date"),),
           "Set require-TCB-up-to-date of app {target} to {requireUpToDate}", risk=Risk.MEDIUM,
           effect=SettingEffect("requireTcbUpToDate", "require TCB up to date", param="requireUpToDate")),
    Action(APP, "disable-upgrades", "Freeze the app's implementation forever.", "disableUpgrades()", (),
           "Disable upgrades of app {target} forever", risk=Risk.HIGH,
           effect=SettingEffect("upgradesDisabled", "upgrades disabled", constant=True),
           custom_check=_irreversible),
    *ownership_actions(APP, "app"),
)  # fmt: skip

__all__ = ["APP_ACTIONS"]
