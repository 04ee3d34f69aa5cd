"""Policy files: the whole desired policy of one KMS and its apps, as reviewed YAML (docs/policy.md).

A section that is present is the complete desired set; a section that is absent is left alone.
Values are parsed with the catalogue's own parameter types, so a bad hash reads exactly as it does
in `kms add-image` or a proposal file, prefixed with where it is in the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict, ValidationError

from foundation.bounded import ParseError, load_yaml, loads_json
from proposals.catalogue import Param, get_action, parse_address, render_value
from proposals.errors import InvalidInput

MAX_POLICY_BYTES = 1024 * 1024
# A policy file nests four levels (apps, one app, a list, its items); aliases may add a few.
MAX_POLICY_DEPTH = 16
MAX_POLICY_NODES = 50_000
MAX_APPS = 500


class _TextScalarLoader(yaml.SafeLoader):
    """YAML loader that keeps numbers as text: an unquoted 0x1234... hash must not become an int."""


_TextScalarLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _param(action: str, name: str) -> Param:
    return next(p for p in get_action(action).params if p.name == name)


# Each list or setting is parsed by the parameter of the catalogue action that changes it.
KMS_SETS: dict[str, tuple[Param, str, str]] = {
    # file key: (parameter, add action, remove action)
    "osImages": (_param("kms-add-image", "osImageHash"), "kms-add-image", "kms-remove-image"),
    "kmsAggregatedMrs": (_param("kms-add-mr", "mrAggregated"), "kms-add-mr", "kms-remove-mr"),
    "kmsDevices": (_param("kms-add-device", "deviceId"), "kms-add-device", "kms-remove-device"),
}
APP_SETS: dict[str, tuple[Param, str, str]] = {
    "composeHashes": (_param("app-add-hash", "composeHash"), "app-add-hash", "app-remove-hash"),
    "devices": (_param("app-add-device", "deviceId"), "app-add-device", "app-remove-device"),
}
APP_FLAGS: dict[str, tuple[Param, str]] = {
    "allowAnyDevice": (_param("app-set-allow-any-device", "allowAny"), "app-set-allow-any-device"),
    "requireTcbUpToDate": (_param("app-set-require-tcb", "requireUpToDate"), "app-set-require-tcb"),
}
GATEWAY = _param("kms-set-gateway", "appId")


@dataclass(frozen=True)
class AppSpec:
    """The desired policy of one app; None: that setting is left alone."""

    sets: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    flags: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySpec:
    """The desired policy of one KMS (sets and settings present in the file) and of the apps it lists."""

    kms: ChecksumAddress | None
    sets: Mapping[str, frozenset[bytes]]
    gateway_app_id: str | None
    apps: Mapping[ChecksumAddress, AppSpec]

    def as_json(self) -> dict[str, Any]:
        """Return the file's content in canonical form (sorted hex lists), as stored and hashed."""
        out: dict[str, Any] = {}
        if self.kms is not None:
            out["kms"] = self.kms
        if self.gateway_app_id is not None:
            out["gatewayAppId"] = self.gateway_app_id
        for key in KMS_SETS:
            if key in self.sets:
                out[key] = sorted(render_value(v) for v in self.sets[key])
        apps: dict[str, Any] = {}
        for app in sorted(self.apps):
            spec = self.apps[app]
            entry: dict[str, Any] = {
                k: sorted(render_value(v) for v in spec.sets[k]) for k in APP_SETS if k in spec.sets
            }
            entry |= {k: spec.flags[k] for k in APP_FLAGS if k in spec.flags}
            apps[app] = entry
        if apps:
            out["apps"] = apps
        return out

    def digest(self) -> str:
        """Return the sha256 of the canonical form (the same policy reads the same however it is written)."""
        return hashlib.sha256(yaml.safe_dump(self.as_json(), sort_keys=True).encode()).hexdigest()


class _AppModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    composeHashes: list[Any] | None = None  # noqa: N815 - the file's camelCase keys
    composeFiles: list[Any] | None = None  # noqa: N815
    devices: list[Any] | None = None
    allowAnyDevice: Any = None  # noqa: N815
    requireTcbUpToDate: Any = None  # noqa: N815


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    kms: Any = None
    osImages: list[Any] | None = None  # noqa: N815
    kmsAggregatedMrs: list[Any] | None = None  # noqa: N815
    kmsDevices: list[Any] | None = None  # noqa: N815
    gatewayAppId: Any = None  # noqa: N815
    apps: dict[str, _AppModel] | None = None


# Reads the compose hashes of app-compose.json files (proposals/compose.py); None: not available yet.
ComposeHasher = Callable[[Path], bytes]


def _printable(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _reject_nulls(model: BaseModel, where: str) -> None:
    """Refuse `key:` with no value: it could mean "none allowed" or "leave alone", and they differ."""
    for name in sorted(model.model_fields_set):
        if getattr(model, name) is None:
            raise InvalidInput(f"{where}{name}: no value (write [] for none allowed, or leave the key out)")


def _parse_set(raw: list[Any], param: Param, where: str) -> frozenset[bytes]:
    seen: dict[bytes, int] = {}
    for index, item in enumerate(raw):
        try:
            value = param.parse(item)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}[{index}]: {exc.message}") from None
        if value in seen:
            raise InvalidInput(f"{where}[{index}]: the same value as {where}[{seen[value]}]")
        seen[value] = index
    return frozenset(seen)


def _parse_app(model: _AppModel, where: str, compose_hasher: ComposeHasher | None, base: Path | None) -> AppSpec:
    _reject_nulls(model, where)
    sets: dict[str, frozenset[bytes]] = {}
    for key, (param, _, _) in APP_SETS.items():
        raw = getattr(model, key)
        if raw is not None:
            sets[key] = _parse_set(raw, param, f"{where}{key}")
    if model.composeFiles is not None:
        hashes = _compose_file_hashes(model.composeFiles, f"{where}composeFiles", compose_hasher, base)
        sets["composeHashes"] = sets.get("composeHashes", frozenset()) | hashes
    flags: dict[str, bool] = {}
    for key, (param, _) in APP_FLAGS.items():
        raw = getattr(model, key)
        if raw is not None:
            try:
                flags[key] = bool(param.parse(raw))
            except InvalidInput as exc:
                raise InvalidInput(f"{where}{key}: {exc.message}") from None
    return AppSpec(sets, flags)


def _compose_file_hashes(
    paths: list[Any], where: str, compose_hasher: ComposeHasher | None, base: Path | None
) -> frozenset[bytes]:
    if compose_hasher is None or base is None:
        raise InvalidInput(
            f"{where}: not supported here (compose files are read by the CLI from paths next to the policy "
            "file, once the compose-review module is available); list composeHashes instead"
        )
    hashes = set()
    for index, raw in enumerate(paths):
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidInput(f"{where}[{index}]: expected a path to an app-compose.json file")
        try:
            hashes.add(compose_hasher(base / raw))
        except InvalidInput as exc:
            raise InvalidInput(f"{where}[{index}]: {exc.message}") from None
    return frozenset(hashes)


def _load_raw(text: str, source: str) -> Any:
    bounds: dict[str, Any] = {"max_bytes": MAX_POLICY_BYTES, "max_depth": MAX_POLICY_DEPTH}
    try:
        if text.lstrip().startswith("{"):
            return loads_json(text, **bounds)
        return load_yaml(text, loader=_TextScalarLoader, max_nodes=MAX_POLICY_NODES, **bounds)
    except ParseError as exc:
        raise InvalidInput(f"{source}: {exc.reason}") from None


def load_policy_text(
    text: str,
    *,
    source: str = "policy file",
    base: Path | None = None,
    compose_hasher: ComposeHasher | None = None,
) -> PolicySpec:
    """Parse a policy file (YAML or JSON) into a PolicySpec; every refusal is one line naming the place."""
    raw = _load_raw(text, source)
    if not isinstance(raw, dict):
        raise InvalidInput(f"{source}: expected a mapping of policy sections (see docs/policy.md)")
    try:
        model = _PolicyModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise InvalidInput(f"{source}: {_printable(where)[:100]}: {first['msg']}") from None
    try:
        return _spec_of(model, base, compose_hasher)
    except InvalidInput as exc:
        raise InvalidInput(f"{source}: {exc.message}") from None


def _spec_of(model: _PolicyModel, base: Path | None, compose_hasher: ComposeHasher | None) -> PolicySpec:
    _reject_nulls(model, "")
    if model.version != 1:
        raise InvalidInput(f"version: {model.version} is not a policy file version this program reads (1)")
    kms = parse_address(str(model.kms), "kms") if model.kms is not None else None
    sets = {key: _parse_set(getattr(model, key), param, key) for key, (param, _, _) in KMS_SETS.items()
            if getattr(model, key) is not None}  # fmt: skip
    gateway = None
    if model.gatewayAppId is not None:
        try:
            gateway = str(GATEWAY.parse(model.gatewayAppId))
        except InvalidInput as exc:
            raise InvalidInput(f"gatewayAppId: {exc.message}") from None
    apps: dict[ChecksumAddress, AppSpec] = {}
    if len(model.apps or {}) > MAX_APPS:
        raise InvalidInput(f"apps: more than {MAX_APPS} apps")
    for key, app_model in (model.apps or {}).items():
        where = f"apps.{_printable(key)[:50]}"
        address = parse_address(key, where)
        if address in apps:
            raise InvalidInput(f"{where}: the same app is listed twice")
        apps[address] = _parse_app(app_model, where + ".", compose_hasher, base)
    return PolicySpec(kms, sets, gateway, apps)


def policy_from_json(data: Mapping[str, Any]) -> PolicySpec:
    """Rebuild a PolicySpec from its stored canonical form."""
    return _spec_of(_PolicyModel.model_validate(dict(data)), None, None)


def dump_policy(spec: PolicySpec, header: str = "") -> str:
    """Return the policy as a YAML file (canonical order; `header` becomes leading comment lines)."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(spec.as_json(), sort_keys=False, default_flow_style=False, width=120)


@dataclass(frozen=True)
class NewAppliedPolicy:
    """A policy file as `policy apply` filed it: the canonical policy, the plan, and what it filed."""

    kms: ChecksumAddress
    policy: Mapping[str, Any]
    policy_digest: str
    source: str
    plan_hash: str
    block: int
    proposal_ids: tuple[int, ...] = ()
    direct_txs: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class AppliedPolicy(NewAppliedPolicy):
    """A stored applied policy."""

    id: int = 0
    applied_by: str = ""
    applied_at: datetime | None = None

    @property
    def spec(self) -> PolicySpec:
        """Return the applied policy as a PolicySpec."""
        return policy_from_json(self.policy)
