"""An app's app-compose.json behind a compose hash: parsed within bounds, hashed both ways, summarised, diffed.

The CVM measures the sha256 of the app-compose.json it boots with, byte for byte. dstack's tools write
that file in one canonical form (the dstack SDK's `get_compose_hash`: keys sorted, no spaces), so for a
file they wrote the two hashes agree. A stated hash may be either one; a file alone stands for the
sha256 of its own bytes (what a CVM booted with exactly this file measures), and the review names the
canonical hash too when the file is not in canonical form (docs/compose-review.md).

Everything in the file is the proposer's text: it is bounded here, and escaped by each front end.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dstack_sdk import AppCompose, get_compose_hash
from dstack_sdk.get_compose_hash import to_deterministic_json

from foundation.bounded import ParseError, load_yaml, loads_json
from proposals.errors import InvalidInput

MAX_COMPOSE_BYTES = 128 * 1024
# app-compose.json nests two levels (docker_config); a docker compose file a handful more.
MAX_COMPOSE_DEPTH = 16
MAX_DOCKER_COMPOSE_DEPTH = 32
MAX_DOCKER_COMPOSE_NODES = 10_000
MAX_SHOWN = 200  # characters of any one compose string in a summary or diff line
RUNNERS = ("docker-compose", "bash")
# Always shown (unset when absent), then shown only when the file sets them.
SETTINGS = ("kms_enabled", "gateway_enabled", "public_logs", "public_sysinfo")
OPTIONAL_SETTINGS = ("local_key_provider_enabled", "key_provider", "no_instance_id", "secure_time")
_BOOLEANS = frozenset({*SETTINGS, "tproxy_enabled", "local_key_provider_enabled", "no_instance_id", "secure_time",
                       "public_tcbinfo"})  # fmt: skip
_TEXTS = frozenset({"runner", "name", "docker_compose_file", "pre_launch_script", "bash_script", "key_provider"})
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
UNPINNED = "the hash does not pin this code"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice: PyYAML keeps the last, docker compose refuses the file."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            # A merge (`<<: *base`) may be overridden by the mapping's own keys: that is not a repeat.
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise ParseError(f"key {shown(key_node.value, 60)!r} appears twice")
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def shown(text: str, limit: int = MAX_SHOWN) -> str:
    """Return compose text cut to `limit` characters on one line (front ends still escape it)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class Service:
    """One docker compose service; `unpinned` says why the compose hash does not pin its code ("" if it does)."""

    name: str
    image: str
    unpinned: str


@dataclass(frozen=True)
class ComposeFile:
    """A parsed app-compose.json with both of its hashes."""

    raw: bytes
    document: Mapping[str, Any]
    # The parsed docker_compose_file (empty for the bash runner) and its services.
    docker_compose: Mapping[str, Any]
    services: tuple[Service, ...]
    file_sha256: bytes
    canonical_hash: bytes

    @property
    def canonical(self) -> bool:
        """Return True when the file is in the canonical form (both hashes agree)."""
        return self.file_sha256 == self.canonical_hash

    def hash_for(self, stated: bytes | None, source: str) -> bytes:
        """Return the compose hash this file stands for: `stated` if it matches either hash, else refuse."""
        if stated is None:
            return self.file_sha256
        if stated in (self.file_sha256, self.canonical_hash):
            return stated
        if self.canonical:
            raise InvalidInput(f"{source}: compose hash 0x{stated.hex()} does not match the file, whose sha256 is "
                               f"0x{self.file_sha256.hex()}")  # fmt: skip
        raise InvalidInput(
            f"{source}: compose hash 0x{stated.hex()} matches neither the file's sha256 "
            f"(0x{self.file_sha256.hex()}) nor its canonical form's (0x{self.canonical_hash.hex()})"
        )

    def hash_form(self, compose_hash: bytes) -> str:
        """Say which form of the file `compose_hash` is the sha256 of."""
        if compose_hash == self.file_sha256:
            return "the file" if self.canonical else "the file as given (not in canonical form)"
        return "the file's canonical form (dstack SDK)"


def parse_compose(raw: bytes | str, *, source: str = "app-compose.json") -> ComposeFile:
    """Parse and check an app-compose.json within bounds; raise InvalidInput with a one-line reason."""
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    try:
        document = loads_json(data, max_bytes=MAX_COMPOSE_BYTES, max_depth=MAX_COMPOSE_DEPTH)
        json.loads(data, object_pairs_hook=_unique_pairs)  # within bounds already: now refuse repeated keys
    except ParseError as exc:
        raise InvalidInput(f"{source}: {exc.reason}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{source}: expected a JSON object (an app-compose.json)")
    _check_fields(document, source)
    docker_compose = _docker_compose(document, source) if document["runner"] == "docker-compose" else {}
    try:
        # The SDK's AppCompose.from_dict pops from what it is given: hand it a copy.
        canonical = bytes.fromhex(get_compose_hash(copy.deepcopy(document)))
        read_back = json.loads(canonical_bytes(document, source=source))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"{source}: the dstack SDK cannot hash it ({type(exc).__name__})") from None
    # The SDK sets each key as an attribute of an object: a key such as `__dict__` would make the canonical
    # hash stand for other content than the one shown. Only a document it reads back as shown is accepted.
    if read_back != {key: value for key, value in document.items() if value is not None}:
        raise InvalidInput(f"{source}: the dstack SDK reads it differently from its JSON (a key starting with _, "
                           "or NaN/Infinity?)")  # fmt: skip
    services = tuple(_service(str(name), spec) for name, spec in docker_compose.get("services", {}).items())
    return ComposeFile(data, document, docker_compose, services, hashlib.sha256(data).digest(), canonical)


def canonical_bytes(document: Mapping[str, Any], *, source: str = "compose") -> bytes:
    """Return an app-compose mapping written the way dstack's tools write the file (the SDK's canonical JSON)."""
    if not isinstance(document.get("runner"), str):
        raise InvalidInput(f"{source}: `runner` must be one of {', '.join(RUNNERS)}")
    try:
        return to_deterministic_json(AppCompose.from_dict(copy.deepcopy(dict(document)))).encode("utf-8")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidInput(f"{source}: the dstack SDK cannot write it ({type(exc).__name__})") from None


def read_compose_file(path: Path, *, source: str | None = None) -> bytes:
    """Read an app-compose.json from disk, at most MAX_COMPOSE_BYTES; InvalidInput with a one-line reason."""
    label = source or f"compose file {path}"
    try:
        if not path.is_file():
            raise InvalidInput(f"{label}: no such file")
        with path.open("rb") as handle:
            data = handle.read(MAX_COMPOSE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{label}: {exc.strerror or 'cannot read it'}") from None
    if len(data) > MAX_COMPOSE_BYTES:
        raise InvalidInput(f"{label}: larger than {MAX_COMPOSE_BYTES // 1024} KiB")
    return data


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise ParseError(f"key {shown(repeated, 60)!r} appears twice")
    return dict(pairs)


def _check_fields(document: Mapping[str, Any], source: str) -> None:
    runner = document.get("runner")
    if runner not in RUNNERS:
        raise InvalidInput(f"{source}: `runner` must be one of {', '.join(RUNNERS)}")
    for key, value in document.items():
        if value is None:
            continue
        if key in _BOOLEANS and not isinstance(value, bool):
            raise InvalidInput(f"{source}: `{key}` must be true or false")
        if key in _TEXTS and not isinstance(value, str):
            raise InvalidInput(f"{source}: `{key}` must be text")
    envs = document.get("allowed_envs")
    if envs is not None and not (isinstance(envs, list) and all(isinstance(e, str) for e in envs)):
        raise InvalidInput(f"{source}: `allowed_envs` must be a list of names")
    if runner == "docker-compose" and not isinstance(document.get("docker_compose_file"), str):
        raise InvalidInput(f"{source}: runner docker-compose needs `docker_compose_file` (the compose YAML as text)")


def _docker_compose(document: Mapping[str, Any], source: str) -> dict[str, Any]:
    where = f"{source}: docker_compose_file"
    try:
        compose = load_yaml(document["docker_compose_file"], max_bytes=MAX_COMPOSE_BYTES,
                            max_depth=MAX_DOCKER_COMPOSE_DEPTH, max_nodes=MAX_DOCKER_COMPOSE_NODES,
                            loader=_UniqueKeyLoader)  # fmt: skip
    except ParseError as exc:
        raise InvalidInput(f"{where}: {exc.reason}") from None
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict) or not compose["services"]:
        raise InvalidInput(f"{where}: expected a docker compose file with a `services` mapping")
    for name, spec in compose["services"].items():
        if not isinstance(spec, dict):
            raise InvalidInput(f"{where}: service {shown(str(name), 60)!r} must be a mapping")
        if spec.get("image") is not None and not isinstance(spec["image"], str):
            raise InvalidInput(f"{where}: service {shown(str(name), 60)!r}: `image` must be text")
    return compose


def _service(name: str, spec: Mapping[str, Any]) -> Service:
    image = spec.get("image") or ""
    return Service(name, image, _unpinned(image, "build" in spec))


def _unpinned(image: str, builds: bool) -> str:
    """Return why a service's code is not pinned by the compose hash ("" when its image is a digest)."""
    if builds:
        return f"built at boot from a build context: {UNPINNED}"
    if not image:
        return f"no image: {UNPINNED}"
    if "$" in image:
        return f"the image comes from a variable set at boot: {UNPINNED}"
    if not _DIGEST.search(image):
        return f"a tag, not an @sha256: digest: {UNPINNED}"
    return ""


# -- summary and diff ------------------------------------------------------------------------------


def render_setting(value: Any) -> str:
    """Render a compose setting: true/false, unset, or the (shortened) text."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return shown(str(value), 80)


def settings_of(document: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Return the settings a signer sees: runner, the four always shown, and the optional ones that are set."""
    gateway = document.get("gateway_enabled", document.get("tproxy_enabled"))  # tproxy_enabled: its old name
    values: list[tuple[str, Any]] = [("runner", document.get("runner"))]
    values += [(key, gateway if key == "gateway_enabled" else document.get(key)) for key in SETTINGS]
    values += [(key, document[key]) for key in OPTIONAL_SETTINGS if document.get(key) is not None]
    return tuple(values)


def allowed_envs(document: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the environment variables the operator may set at boot (outside the hash)."""
    return tuple(document.get("allowed_envs") or ())


def has_pre_launch_script(document: Mapping[str, Any]) -> bool:
    """Return True when the compose runs a pre-launch script before the containers."""
    return bool(document.get("pre_launch_script"))


def diff(base: ComposeFile, new: ComposeFile) -> tuple[str, ...]:
    """Return what changes from `base` to `new`, one line each (empty when the content is the same)."""
    if base.canonical_hash == new.canonical_hash:
        return ()
    lines = [f"{key}: {render_setting(before)} → {render_setting(after)}"
             for (key, before), (_, after) in zip(_all_settings(base), _all_settings(new), strict=True)
             if before != after]  # fmt: skip
    lines += _env_changes(allowed_envs(base.document), allowed_envs(new.document))
    if (base.document.get("pre_launch_script") or "") != (new.document.get("pre_launch_script") or ""):
        was, now = has_pre_launch_script(base.document), has_pre_launch_script(new.document)
        lines.append("pre-launch script " + ("changed" if was and now else "added" if now else "removed"))
    lines += _service_changes(base, new)
    covered = {"runner", "allowed_envs", "pre_launch_script", "docker_compose_file", "tproxy_enabled",
               *SETTINGS, *OPTIONAL_SETTINGS}  # fmt: skip
    for key in sorted((set(base.document) | set(new.document)) - covered):
        if base.document.get(key) != new.document.get(key):
            lines.append(f"`{shown(key, 60)}` changed")
    return tuple(lines) or ("only the formatting differs",)


def _all_settings(compose: ComposeFile) -> list[tuple[str, Any]]:
    document = compose.document
    gateway = document.get("gateway_enabled", document.get("tproxy_enabled"))
    return [("runner", document.get("runner"))] + [
        (key, gateway if key == "gateway_enabled" else document.get(key)) for key in (*SETTINGS, *OPTIONAL_SETTINGS)
    ]


def _env_changes(before: tuple[str, ...], after: tuple[str, ...]) -> list[str]:
    added = [shown(e, 60) for e in after if e not in before]
    removed = [shown(e, 60) for e in before if e not in after]
    return ([f"allowed_envs added: {', '.join(added)}"] if added else []) + (
        [f"allowed_envs removed: {', '.join(removed)}"] if removed else []
    )


def _service_changes(base: ComposeFile, new: ComposeFile) -> list[str]:
    before = {s.name: s for s in base.services}
    specs = (_specs(base), _specs(new))
    lines = []
    for service in new.services:
        label = f"service {shown(service.name, 60)}"
        if service.name not in before:
            lines.append(f"{label} added: image {shown(service.image) or '(none)'}")
            continue
        if before[service.name].image != service.image:
            old, now = shown(before[service.name].image) or "(none)", shown(service.image) or "(none)"
            lines.append(f"{label}: image {old} → {now}")
        was, spec = specs[0][service.name], specs[1][service.name]
        changed = sorted(str(k) for k in set(was) | set(spec) if k != "image" and was.get(k) != spec.get(k))
        if changed:
            lines.append(f"{label}: {', '.join(shown(k, 40) for k in changed[:10])} changed")
    after = {s.name for s in new.services}
    lines += [f"service {shown(name, 60)} removed" for name in before if name not in after]
    outside = [{k: v for k, v in c.docker_compose.items() if k != "services"} for c in (base, new)]
    if outside[0] != outside[1]:
        lines.append("docker compose settings outside `services` changed")
    return lines


def _specs(compose: ComposeFile) -> dict[str, Mapping[str, Any]]:
    return {str(name): spec for name, spec in compose.docker_compose.get("services", {}).items()}
