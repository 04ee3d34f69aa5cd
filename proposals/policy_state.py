"""One consistent read of a KMS's whole policy and its apps', with the events that made it.

Everything is read at one pinned block: the whitelists are rebuilt from the added/removed events (as
`info` does) and confirmed against the mappings, in JSON-RPC batches. The events are kept, so a
difference can name the block and the transaction that caused it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_typing import ChecksumAddress
from eth_utils import event_signature_to_log_topic
from web3 import Web3

from proposals.bulk_reads import Call, call_many, logs_of
from proposals.catalogue import render_value
from proposals.errors import NotFound, translate_chain_errors

ADDED, REMOVED = "added", "removed"

# event signature -> (field, True added / False removed / None a setting with its new value in data)
_KMS_EVENTS: dict[str, tuple[str, bool | None]] = {
    "OsImageHashAdded(bytes32)": ("osImages", True),
    "OsImageHashRemoved(bytes32)": ("osImages", False),
    "KmsAggregatedMrAdded(bytes32)": ("kmsAggregatedMrs", True),
    "KmsAggregatedMrRemoved(bytes32)": ("kmsAggregatedMrs", False),
    "KmsDeviceAdded(bytes32)": ("kmsDevices", True),
    "KmsDeviceRemoved(bytes32)": ("kmsDevices", False),
    "AppRegistered(address)": ("apps", True),
    "GatewayAppIdSet(string)": ("gatewayAppId", None),
}
_APP_EVENTS: dict[str, tuple[str, bool | None]] = {
    "ComposeHashAdded(bytes32)": ("composeHashes", True),
    "ComposeHashRemoved(bytes32)": ("composeHashes", False),
    "DeviceAdded(bytes32)": ("devices", True),
    "DeviceRemoved(bytes32)": ("devices", False),
    "AllowAnyDeviceSet(bool)": ("allowAnyDevice", None),
    "RequireTcbUpToDateSet(bool)": ("requireTcbUpToDate", None),
}
# The mapping getter that holds the truth for each whitelist.
KMS_GETTERS = {"osImages": "allowedOsImages(bytes32)", "kmsAggregatedMrs": "kmsAllowedAggregatedMrs(bytes32)",
               "kmsDevices": "kmsAllowedDeviceIds(bytes32)"}  # fmt: skip
APP_GETTERS = {"composeHashes": "allowedComposeHashes(bytes32)", "devices": "allowedDeviceIds(bytes32)"}
APP_FLAG_GETTERS = {"allowAnyDevice": "allowAnyDevice()", "requireTcbUpToDate": "requireTcbUpToDate()"}


def _topics(events: Mapping[str, tuple[str, bool | None]]) -> dict[bytes, tuple[str, str, bool | None]]:
    return {event_signature_to_log_topic(sig): (sig, name, enabled) for sig, (name, enabled) in events.items()}


KMS_TOPICS = _topics(_KMS_EVENTS)
APP_TOPICS = _topics(_APP_EVENTS)


@dataclass(frozen=True)
class Event:
    """One policy event: `value` names the item (a hash or an app; "" for a setting), `state` what it became."""

    contract: ChecksumAddress
    field: str
    value: str
    state: str
    block: int
    tx_hash: bytes
    log_index: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.contract, self.field, self.value)


@dataclass(frozen=True)
class AppState:
    """One app's policy as the chain has it (`readable` False: not a DstackApp we can read)."""

    app: ChecksumAddress
    owner: ChecksumAddress | None
    registered: bool
    readable: bool
    sets: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)

    def can_boot(
        self, sets: Mapping[str, frozenset[bytes]] | None = None, flags: Mapping[str, bool] | None = None
    ) -> bool:
        """Return True when a compose hash and a device (or any device) are allowed, now or with `sets`/`flags`."""
        sets = sets if sets is not None else self.sets
        flags = flags if flags is not None else self.flags
        devices_ok = flags.get("allowAnyDevice", False) or bool(sets.get("devices"))
        return self.registered and self.readable and bool(sets.get("composeHashes")) and devices_ok


@dataclass(frozen=True)
class ChainPolicy:
    """A KMS's policy and its apps', read at `block`, with every policy event up to it."""

    kms: ChecksumAddress
    block: int
    owner: ChecksumAddress
    gateway_app_id: str
    sets: Mapping[str, frozenset[bytes]]
    apps: Mapping[ChecksumAddress, AppState]
    events: tuple[Event, ...] = ()

    @property
    def registered_apps(self) -> list[ChecksumAddress]:
        return sorted((a for a, s in self.apps.items() if s.registered), key=str.lower)

    def canonical(self) -> dict[str, Any]:
        """Return the state (not the events or the block) in a canonical JSON form, for hashing."""
        apps = {
            app: {"owner": s.owner, "registered": s.registered, "readable": s.readable,
                  "sets": {k: sorted(render_value(v) for v in vs) for k, vs in sorted(s.sets.items())},
                  "flags": dict(sorted(s.flags.items()))}
            for app, s in sorted(self.apps.items())
        }  # fmt: skip
        sets = {k: sorted(render_value(v) for v in vs) for k, vs in sorted(self.sets.items())}
        return {"kms": self.kms, "owner": self.owner, "gatewayAppId": self.gateway_app_id, "sets": sets, "apps": apps}

    def digest(self) -> str:
        """Return the sha256 of the canonical state."""
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()


def _event_of(log: Any, topics: Mapping[bytes, tuple[str, str, bool | None]]) -> Event | None:
    entry = topics.get(bytes(log["topics"][0]))
    if entry is None:
        return None
    signature, name, enabled = entry
    data = bytes(log["data"])
    contract = Web3.to_checksum_address(log["address"])
    where = (int(log["blockNumber"]), bytes(log["transactionHash"]), int(log["logIndex"]))
    if enabled is not None:
        raw = data[:32]
        value = Web3.to_checksum_address(raw[-20:]) if signature.startswith("AppRegistered") else render_value(raw)
        return Event(contract, name, value, ADDED if enabled else REMOVED, *where)
    kind = signature[signature.index("(") + 1 : -1]
    try:
        (decoded,) = decode([kind], data)
    except Exception:  # noqa: BLE001 - an event we cannot decode does not change what the getters say
        return None
    return Event(contract, name, "", render_value(decoded), *where)


def _candidates(events: Iterable[Event], contract: str, name: str) -> list[str]:
    """Replay added/removed events in order; return the members whose last event added them."""
    members: dict[str, bool] = {}
    for event in events:
        if event.contract == contract and event.field == name:
            members[event.value] = event.state == ADDED
    return [value for value, on in members.items() if on]


class PolicyReader:
    """Reads ChainPolicy snapshots; requests grow with the log chunks scanned, not with the entries."""

    def __init__(self, w3: Web3, *, start_block: int = 0, chunk_blocks: int = 5_000) -> None:
        self.w3 = w3
        self.start_block = start_block
        self.chunk_blocks = chunk_blocks

    def read(self, kms: ChecksumAddress, extra_apps: Sequence[ChecksumAddress] = ()) -> ChainPolicy:
        """Read the KMS, every app registered with it, and `extra_apps`, all at the current block."""
        with translate_chain_errors("reading the policy"):
            block = int(self.w3.eth.block_number)
            if not self.w3.eth.get_code(kms, block):
                raise NotFound(f"no contract code at {kms} (KMS)")
        span = {"start": self.start_block, "end": block, "chunk_blocks": self.chunk_blocks}
        kms_events = [e for log in logs_of(self.w3, [kms], list(KMS_TOPICS), **span)
                      if (e := _event_of(log, KMS_TOPICS)) is not None]  # fmt: skip
        registered = _candidates(kms_events, kms, "apps")
        apps = sorted({Web3.to_checksum_address(a) for a in [*registered, *extra_apps]})
        app_events = [e for log in logs_of(self.w3, apps, list(APP_TOPICS), **span)
                      if (e := _event_of(log, APP_TOPICS)) is not None]  # fmt: skip
        calls, paths = self._calls(kms, kms_events, apps, app_events)
        state = dict(zip(paths, call_many(self.w3, calls, block), strict=True))
        return self._assemble(kms, block, state, apps, sorted(kms_events + app_events, key=_order))

    @staticmethod
    def _calls(
        kms: ChecksumAddress, kms_events: list[Event], apps: list[ChecksumAddress], app_events: list[Event]
    ) -> tuple[list[Call], list[tuple[Any, ...]]]:
        """Return every view call the snapshot needs, each with the path its result is kept under."""
        calls: list[Call] = []
        paths: list[tuple[Any, ...]] = []

        def add(call: Call, path: tuple[Any, ...]) -> None:
            calls.append(call)
            paths.append(path)

        add(Call(kms, "owner()", returns=("address",)), ("owner",))
        add(Call(kms, "gatewayAppId()", returns=("string",)), ("gateway",))
        for name, getter in KMS_GETTERS.items():
            for value in _candidates(kms_events, kms, name):
                add(Call(kms, getter, (bytes.fromhex(value[2:]),)), ("kms", name, value))
        for app in apps:
            add(Call(kms, "registeredApps(address)", (app,)), ("registered", app))
            add(Call(app, "owner()", returns=("address",)), ("app-owner", app))
            for name, getter in APP_FLAG_GETTERS.items():
                add(Call(app, getter), ("flag", app, name))
            for name, getter in APP_GETTERS.items():
                for value in _candidates(app_events, app, name):
                    add(Call(app, getter, (bytes.fromhex(value[2:]),)), ("app", app, name, value))
        return calls, paths

    @staticmethod
    def _assemble(
        kms: ChecksumAddress, block: int, state: dict[Any, Any], apps: list[ChecksumAddress], events: list[Event]
    ) -> ChainPolicy:
        if state[("owner",)] is None:
            raise NotFound(f"{kms} does not answer as a DstackKms (owner() fails)")
        members: dict[tuple[str, ...], set[bytes]] = {}
        for path, on in state.items():
            if path[0] in ("kms", "app") and on:
                members.setdefault(path[:-1], set()).add(bytes.fromhex(path[-1][2:]))
        sets = {name: frozenset(members.get(("kms", name), ())) for name in KMS_GETTERS}
        app_states = {}
        for app in apps:
            owner = state[("app-owner", app)]
            flags = {name: state[("flag", app, name)] for name in APP_FLAG_GETTERS}
            readable = owner is not None and all(isinstance(v, bool) for v in flags.values())
            app_sets = {name: frozenset(members.get(("app", app, name), ())) for name in APP_GETTERS}
            app_states[app] = AppState(
                app, Web3.to_checksum_address(owner) if owner else None, bool(state[("registered", app)]), readable,
                app_sets if readable else {}, {k: bool(v) for k, v in flags.items()} if readable else {},
            )  # fmt: skip
        owner = Web3.to_checksum_address(state[("owner",)])
        return ChainPolicy(kms, block, owner, state[("gateway",)] or "", sets, app_states, tuple(events))


def _order(event: Event) -> tuple[int, int]:
    return (event.block, event.log_index)
