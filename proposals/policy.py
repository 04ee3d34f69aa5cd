"""The current on-chain policy: whitelists rebuilt from events, confirmed against the mappings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from proposals.catalogue import Group
from proposals.chain import ChainReader
from proposals.events import UPGRADES_DISABLED_TOPIC, app_topic, kms_topic

ZERO = "0x0000000000000000000000000000000000000000"

# (added event, removed event or None, getter that holds the truth), per whitelist.
_KMS_SETS: dict[str, tuple[str, str | None, str]] = {
    "osImages": ("OsImageHashAdded", "OsImageHashRemoved", "allowedOsImages"),
    "aggregatedMrs": ("KmsAggregatedMrAdded", "KmsAggregatedMrRemoved", "kmsAllowedAggregatedMrs"),
    "devices": ("KmsDeviceAdded", "KmsDeviceRemoved", "kmsAllowedDeviceIds"),
    "apps": ("AppRegistered", None, "registeredApps"),
}
_APP_SETS: dict[str, tuple[str, str | None, str]] = {
    "composeHashes": ("ComposeHashAdded", "ComposeHashRemoved", "allowedComposeHashes"),
    "devices": ("DeviceAdded", "DeviceRemoved", "allowedDeviceIds"),
}


def _rebuild_sets(
    reader: ChainReader,
    group: Group,
    address: ChecksumAddress,
    specs: Mapping[str, tuple[str, str | None, str]],
    flags: Sequence[bytes] = (),
) -> tuple[dict[str, list[Any]], set[bytes]]:
    """Replay added/removed events in order, then keep what the getter still confirms.

    `flags` are further event topics to look for in the same scan; the ones seen are returned.
    """
    topic_of = kms_topic if group is Group.KMS else app_topic
    topics: dict[bytes, tuple[str, bool]] = {}
    for key, (added, removed, _) in specs.items():
        topics[topic_of(added)] = (key, True)
        if removed:
            topics[topic_of(removed)] = (key, False)
    members: dict[str, dict[Any, bool]] = {key: {} for key in specs}
    seen: set[bytes] = set()
    for log in reader.logs(address, [*topics, *flags]):
        topic = bytes(log["topics"][0])
        if topic not in topics:
            seen.add(topic)
            continue
        key, enabled = topics[topic]
        data = bytes(log["data"])[:32]
        value: Any = Web3.to_checksum_address(data[-20:]) if key == "apps" else data
        members[key][value] = enabled
    result: dict[str, list[Any]] = {}
    for key, (_, _, getter) in specs.items():
        candidates = [value for value, enabled in members[key].items() if enabled]
        result[key] = [value for value in candidates if reader.read(group, address, getter, [value])]
    return result, seen


@dataclass(frozen=True)
class KmsPolicy:
    """What a DstackKms currently allows."""

    kms: ChecksumAddress
    owner: ChecksumAddress
    pending_owner: ChecksumAddress | None
    implementation: ChecksumAddress
    gateway_app_id: str
    app_implementation: ChecksumAddress | None
    k256_pubkey: bytes
    os_images: tuple[bytes, ...]
    aggregated_mrs: tuple[bytes, ...]
    devices: tuple[bytes, ...]
    apps: tuple[ChecksumAddress, ...]


@dataclass(frozen=True)
class AppPolicy:
    """What one DstackApp currently allows."""

    app: ChecksumAddress
    owner: ChecksumAddress
    pending_owner: ChecksumAddress | None
    implementation: ChecksumAddress
    registered: bool | None
    allow_any_device: bool
    require_tcb_up_to_date: bool
    upgrades_disabled: bool
    compose_hashes: tuple[bytes, ...]
    devices: tuple[bytes, ...]


def _optional(address: str) -> ChecksumAddress | None:
    return None if address == ZERO else Web3.to_checksum_address(address)


def read_kms_policy(reader: ChainReader, kms: ChecksumAddress) -> KmsPolicy:
    """Read the KMS settings and whitelists."""
    reader.require_code(kms, "KMS")

    def read(getter: str) -> Any:
        return reader.read(Group.KMS, kms, getter)

    sets, _ = _rebuild_sets(reader, Group.KMS, kms, _KMS_SETS)
    return KmsPolicy(
        kms=kms,
        owner=read("owner"),
        pending_owner=_optional(read("pendingOwner")),
        implementation=reader.implementation(kms),
        gateway_app_id=read("gatewayAppId"),
        app_implementation=_optional(read("appImplementation")),
        k256_pubkey=bytes(read("kmsInfo")[0]),
        os_images=tuple(sets["osImages"]),
        aggregated_mrs=tuple(sets["aggregatedMrs"]),
        devices=tuple(sets["devices"]),
        apps=tuple(sets["apps"]),
    )


def read_app_policy(reader: ChainReader, app: ChecksumAddress) -> AppPolicy:
    """Read one app's settings and whitelists."""
    reader.require_code(app, "app")

    def read(getter: str) -> Any:
        return reader.read(Group.APP, app, getter)

    # One scan of the app's events serves the whitelists and the upgrades-disabled flag (it has no getter).
    sets, seen = _rebuild_sets(reader, Group.APP, app, _APP_SETS, flags=[UPGRADES_DISABLED_TOPIC])
    return AppPolicy(
        app=app,
        owner=read("owner"),
        pending_owner=_optional(read("pendingOwner")),
        implementation=reader.implementation(app),
        registered=reader.app_registered(app),
        allow_any_device=bool(read("allowAnyDevice")),
        require_tcb_up_to_date=bool(read("requireTcbUpToDate")),
        upgrades_disabled=UPGRADES_DISABLED_TOPIC in seen,
        compose_hashes=tuple(sets["composeHashes"]),
        devices=tuple(sets["devices"]),
    )


def as_dict(policy: KmsPolicy | AppPolicy) -> dict[str, Any]:
    """Return a policy as camelCase JSON-ready data."""
    out: dict[str, Any] = {}
    for key, value in policy.__dict__.items():
        parts = key.split("_")
        camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
        out[camel] = list(value) if isinstance(value, tuple) else value
    return out


def hex_list(values: Iterable[bytes]) -> list[str]:
    """Return bytes as 0x-hex strings."""
    return ["0x" + bytes(v).hex() for v in values]
