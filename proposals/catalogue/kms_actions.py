"""The DstackKms actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress

from proposals.errors import InvalidInput

from .common import ZERO_ADDRESS, bytes32_param, ownership_actions
from .model import Action, Group, MembershipEffect, Risk, SettingEffect, StateChange, StateReader, Values
from .params import Kind, Param, render_value

KMS = Group.KMS
ZERO32 = b"\x00" * 32

_APP_FLAGS = (
    Param("initialOwner", Kind.ADDRESS, "owner of the new app (default: the KMS owner)", optional=True),
    Param(
        "disableUpgrades",
        Kind.BOOL,
        "make the app not upgradeable, forever",
        optional=True,
        default=False,
        flag="--disable-upgrades",
    ),
)
_APP_POLICY = (
    Param(
        "allowAnyDevice",
        Kind.BOOL,
        "let the app boot on any device",
        optional=True,
        default=False,
        flag="--allow-any-device",
    ),
    Param(
        "initialDeviceId",
        Kind.BYTES32,
        "a first allowed device id",
        optional=True,
        default=ZERO32,
        flag="--device",
    ),
    Param(
        "initialComposeHash",
        Kind.BYTES32,
        "a first allowed compose hash",
        optional=True,
        default=ZERO32,
        flag="--hash",
    ),
)
_REQUIRE_TCB = Param("requireTcbUpToDate", Kind.BOOL, "refuse boots whose TCB is not up to date",
                     optional=True, default=False, flag="--require-tcb-up-to-date")  # fmt: skip


def _owner_default(values: Values, reader: StateReader, target: ChecksumAddress) -> dict[str, Any]:
    """Let a new app belong to whoever owns the KMS unless told otherwise."""
    return {**values, "initialOwner": values.get("initialOwner") or reader.read(KMS, target, "owner")}


def _create_app_abi(with_tcb: bool) -> Any:
    def to_abi(values: Values, reader: StateReader | None, target: ChecksumAddress | None) -> tuple[Any, ...]:
        if not values.get("initialOwner"):
            raise InvalidInput("initialOwner: missing value")
        flags = [values["disableUpgrades"]] + ([values["requireTcbUpToDate"]] if with_tcb else [])
        return (
            values["initialOwner"],
            *flags,
            values["allowAnyDevice"],
            values["initialDeviceId"],
            values["initialComposeHash"],
        )

    return to_abi


def _create_app_diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
    parts = []
    if values["initialComposeHash"] != ZERO32:
        parts.append(f"compose hash {render_value(values['initialComposeHash'])}")
    if values.get("allowAnyDevice"):
        parts.append("any device")
    elif values["initialDeviceId"] != ZERO32:
        parts.append(f"device {render_value(values['initialDeviceId'])}")
    return [StateChange("registered apps", "-", "a new app allowing " + (", ".join(parts) or "nothing yet"))]


def _kms_info_diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
    before = reader.read(KMS, target, "kmsInfo")
    return [StateChange("kmsInfo.k256Pubkey", render_value(before[0]), render_value(values["k256Pubkey"]))]


def _bytes_setting_diff(index: int, label: str) -> Any:
    def diff(reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        before = bytes(reader.read(KMS, target, "kmsInfo")[index])
        after = values[label]
        return [StateChange(f"kmsInfo.{label}", f"{len(before)} bytes", f"{len(after)} bytes")]

    return diff


KMS_ACTIONS: Sequence[Action] = (
    Action(KMS, "add-image", "Allow an OS image to boot.", "addOsImageHash(bytes32)",
           (bytes32_param("osImageHash", "the OS image hash"),), "Allow OS image {osImageHash}",
           effect=MembershipEffect("allowedOsImages", "osImageHash", True, "OS image")),
    Action(KMS, "remove-image", "Stop an OS image from booting.", "removeOsImageHash(bytes32)",
           (bytes32_param("osImageHash", "the OS image hash"),), "Disallow OS image {osImageHash}",
           risk=Risk.MEDIUM, effect=MembershipEffect("allowedOsImages", "osImageHash", False, "OS image")),
    Action(KMS, "set-gateway", "Set the gateway app id the KMS hands out.", "setGatewayAppId(string)",
           (Param("appId", Kind.STRING, "the gateway's app id", address_like=True),),
           "Set the gateway app id to {appId}", risk=Risk.MEDIUM,
           effect=SettingEffect("gatewayAppId", "gateway app id", param="appId")),
    Action(KMS, "register-app", "Register an existing app contract with the KMS (anyone may).",
           "registerApp(address)", (Param("appId", Kind.ADDRESS, "the app contract (App ID)"),),
           "Register app {appId} with the KMS", permissionless=True,
           effect=MembershipEffect("registeredApps", "appId", True, "registered app")),
    Action(KMS, "create-app", "Deploy a new app contract through the KMS factory and register it.",
           "deployAndRegisterApp(address,bool,bool,bool,bytes32,bytes32)",
           (*_APP_FLAGS, _REQUIRE_TCB, *_APP_POLICY),
           "Create an app owned by {initialOwner} (any device: {allowAnyDevice}, TCB required: "
           "{requireTcbUpToDate}, hash {initialComposeHash}, device {initialDeviceId})",
           permissionless=True, complete_values=_owner_default, to_abi=_create_app_abi(True),
           custom_diff=_create_app_diff),
    Action(KMS, "create-app-legacy", "Deploy and register an app with the older factory call (no TCB flag).",
           "deployAndRegisterApp(address,bool,bool,bytes32,bytes32)", (*_APP_FLAGS, *_APP_POLICY),
           "Create an app owned by {initialOwner} (any device: {allowAnyDevice}, hash "
           "{initialComposeHash}, device {initialDeviceId})",
           permissionless=True, complete_values=_owner_default, to_abi=_create_app_abi(False),
           custom_diff=_create_app_diff),
    Action(KMS, "set-app-implementation", "Set the implementation new apps are deployed with.",
           "setAppImplementation(address)",
           (Param("implementation", Kind.ADDRESS, "the DstackApp implementation contract"),),
           "Deploy future apps with implementation {implementation}", risk=Risk.HIGH,
           effect=SettingEffect("appImplementation", "app implementation", param="implementation")),
    Action(KMS, "add-mr", "Allow a KMS aggregated measurement.", "addKmsAggregatedMr(bytes32)",
           (bytes32_param("mrAggregated", "the aggregated MR"),), "Allow KMS aggregated MR {mrAggregated}",
           effect=MembershipEffect("kmsAllowedAggregatedMrs", "mrAggregated", True, "KMS aggregated MR")),
    Action(KMS, "remove-mr", "Disallow a KMS aggregated measurement.", "removeKmsAggregatedMr(bytes32)",
           (bytes32_param("mrAggregated", "the aggregated MR"),), "Disallow KMS aggregated MR {mrAggregated}",
           risk=Risk.MEDIUM,
           effect=MembershipEffect("kmsAllowedAggregatedMrs", "mrAggregated", False, "KMS aggregated MR")),
    Action(KMS, "add-device", "Allow the KMS to boot on a device.", "addKmsDevice(bytes32)",
           (bytes32_param("deviceId", "the device id"),), "Allow the KMS on device {deviceId}",
           effect=MembershipEffect("kmsAllowedDeviceIds", "deviceId", True, "KMS device")),
    Action(KMS, "remove-device", "Stop the KMS from booting on a device.", "removeKmsDevice(bytes32)",
           (bytes32_param("deviceId", "the device id"),), "Disallow the KMS on device {deviceId}",
           risk=Risk.MEDIUM, effect=MembershipEffect("kmsAllowedDeviceIds", "deviceId", False, "KMS device")),
    Action(KMS, "set-info", "Publish the KMS keys, quote and event log.", "setKmsInfo((bytes,bytes,bytes,bytes))",
           (Param("k256Pubkey", Kind.BYTES, "the KMS secp256k1 public key"),
            Param("caPubkey", Kind.BYTES, "the KMS CA public key"),
            Param("quote", Kind.BYTES, "the KMS TDX quote"),
            Param("eventlog", Kind.BYTES, "the KMS event log")),
           "Set the KMS info (k256 public key {k256Pubkey})", risk=Risk.MEDIUM,
           to_abi=lambda v, r, t: ((v["k256Pubkey"], v["caPubkey"], v["quote"], v["eventlog"]),),
           from_abi=lambda raw: dict(zip(("k256Pubkey", "caPubkey", "quote", "eventlog"), raw[0], strict=True)),
           custom_diff=_kms_info_diff),
    Action(KMS, "set-quote", "Replace the published KMS quote.", "setKmsQuote(bytes)",
           (Param("quote", Kind.BYTES, "the KMS TDX quote"),), "Set the KMS quote", risk=Risk.MEDIUM,
           custom_diff=_bytes_setting_diff(2, "quote")),
    Action(KMS, "set-eventlog", "Replace the published KMS event log.", "setKmsEventlog(bytes)",
           (Param("eventlog", Kind.BYTES, "the KMS event log"),), "Set the KMS event log", risk=Risk.MEDIUM,
           custom_diff=_bytes_setting_diff(3, "eventlog")),
    *ownership_actions(KMS, "KMS"),
)  # fmt: skip

__all__ = ["KMS_ACTIONS", "ZERO_ADDRESS"]
