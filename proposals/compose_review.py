"""Compose review: tie an app-compose.json to the compose hash an action allows, and show signers what it means.

Filing: `attach_compose` checks the file backs the stated hash (or gives the hash), and
`allowed_now` names the app's most recently allowed compose hash, which is stored as the base
to diff against. Showing: `review_composes` re-checks each stored file against its stored action
(what you see is what you sign), summarises it, diffs it against the base's compose when
dstack-gov has seen one, and rates the risk: an image not pinned by digest is high risk (the hash
does not pin that code), new `allowed_envs` at least medium (the operator sets them at boot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress

from proposals.catalogue import Action, Group, Risk, get_action, parse_hex
from proposals.chain import ChainReader
from proposals.compose import (
    ComposeFile,
    Service,
    allowed_envs,
    diff,
    has_pre_launch_script,
    parse_compose,
    render_setting,
    settings_of,
)
from proposals.errors import InvalidInput
from proposals.events import app_topic
from proposals.models import ComposeRecord, Proposal

COMPOSE_ADDED = app_topic("ComposeHashAdded")
COMPOSE_REMOVED = app_topic("ComposeHashRemoved")
RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)
# Looks up an app-compose.json by compose hash in the store (None: never seen).
SeenCompose = Callable[[bytes], bytes | None]


def higher_risk(first: Risk, second: Risk) -> Risk:
    """Return the higher of two risk levels."""
    return max(first, second, key=RISK_ORDER.index)


def attach_compose(
    action: Action, values: Mapping[str, Any], raw: bytes, *, source: str
) -> tuple[dict[str, Any], ComposeFile]:
    """Check that `raw` backs the action's compose hash, or fill the hash in; return the values and the file."""
    if action.compose_param is None:
        raise InvalidInput(f"{action.name}: takes no app-compose.json (only app add-hash does)")
    compose = parse_compose(raw, source=source)
    stated = values.get(action.compose_param)
    param = next(p for p in action.params if p.name == action.compose_param)
    chosen = compose.hash_for(None if stated is None else param.parse(stated), source)
    return {**values, action.compose_param: "0x" + chosen.hex()}, compose


def allowed_now(reader: ChainReader, app: ChecksumAddress) -> bytes | None:
    """Return the app's most recently allowed compose hash that it still allows (None: it allows none)."""
    latest: dict[bytes, bool] = {}
    for log in reader.logs(app, [COMPOSE_ADDED, COMPOSE_REMOVED]):
        value = bytes(log["data"])[:32]
        latest.pop(value, None)  # re-inserted: the dict's order is the order of each hash's last event
        latest[value] = bytes(log["topics"][0]) == COMPOSE_ADDED
    for value in reversed(latest):
        if latest[value] and reader.read(Group.APP, app, "allowedComposeHashes", [value]):
            return value
    return None


@dataclass(frozen=True)
class ComposeReview:
    """What a signer sees about the app-compose.json behind one action's compose hash."""

    index: int
    app: ChecksumAddress
    compose_hash: bytes
    risk: Risk
    concerns: tuple[str, ...]
    compose: ComposeFile | None = None  # None: the stored file does not back the action (`concerns` say why)
    base_hash: bytes | None = None
    # What changes from the base's compose; None: unknown (`base_note` says why).
    changes: tuple[str, ...] | None = None
    base_note: str = ""

    @property
    def hash_form(self) -> str:
        """Say which form of the file the compose hash is the sha256 of."""
        return self.compose.hash_form(self.compose_hash) if self.compose is not None else ""

    # What front ends show, so they render the review without reading the file themselves.

    @property
    def size(self) -> int:
        """Return the file's size in bytes (0 when it is not shown)."""
        return len(self.compose.raw) if self.compose is not None else 0

    @property
    def services(self) -> tuple[Service, ...]:
        """Return the docker compose services, each with why its code is not pinned ("" when it is)."""
        return self.compose.services if self.compose is not None else ()

    @property
    def settings(self) -> tuple[tuple[str, str], ...]:
        """Return the settings a signer sees, rendered (true/false, unset, or shortened text)."""
        document = self.compose.document if self.compose is not None else {}
        return tuple((key, render_setting(value)) for key, value in settings_of(document)) if document else ()

    @property
    def allowed_envs(self) -> tuple[str, ...]:
        """Return the environment variables the operator may set at boot."""
        return allowed_envs(self.compose.document) if self.compose is not None else ()

    @property
    def pre_launch_script(self) -> bool:
        """Return True when a pre-launch script runs before the containers."""
        return self.compose is not None and has_pre_launch_script(self.compose.document)


def review_composes(
    proposal: Proposal, records: Sequence[ComposeRecord], seen: SeenCompose
) -> tuple[ComposeReview, ...]:
    """Return the review of each compose file stored with `proposal`."""
    return tuple(_review(proposal, record, seen) for record in records)


def _review(proposal: Proposal, record: ComposeRecord, seen: SeenCompose) -> ComposeReview:
    label = f"action {record.index + 1} app-compose.json"
    problem = _mismatch(proposal, record)
    compose = None
    if not problem:
        try:
            compose = parse_compose(record.raw, source=label)
        except InvalidInput as exc:
            problem = exc.message
    if compose is None or record.compose_hash not in (compose.file_sha256, compose.canonical_hash):
        concern = f"{label}: {problem or 'it does not hash to the compose hash'}; it is not shown"
        return ComposeReview(record.index, record.app, record.compose_hash, Risk.HIGH, (concern,))
    base = _base(record, seen)
    changes, note = _changes(record, compose, base)
    concerns = [f"{label}: service {s.name}: image {s.image or '(none)'}: {s.unpinned}"
                for s in compose.services if s.unpinned]  # fmt: skip
    risk = Risk.HIGH if concerns else Risk.LOW
    new_envs = [e for e in allowed_envs(compose.document) if base is None or e not in allowed_envs(base.document)]
    if new_envs:
        concerns.append(f"{label}: new allowed_envs {', '.join(new_envs)}: the operator sets them at boot, "
                        "outside the hash")  # fmt: skip
        risk = higher_risk(risk, Risk.MEDIUM)
    return ComposeReview(record.index, record.app, record.compose_hash, risk, tuple(concerns), compose,
                         record.base_hash, changes, note)  # fmt: skip


def _mismatch(proposal: Proposal, record: ComposeRecord) -> str:
    """Return why the stored record does not belong to the stored action ("" when it does)."""
    if not 0 <= record.index < len(proposal.actions):
        return "it belongs to no action of this proposal"
    call = proposal.actions[record.index]
    try:
        action = get_action(call.action)
        param = action.compose_param
        stated = parse_hex(str(call.values.get(param or "", "")), "compose hash", length=32) if param else None
    except InvalidInput:
        stated = None
    if stated != record.compose_hash or call.target.lower() != record.app.lower():
        return "it was stored for another compose hash or app than the action's"
    return ""


def _base(record: ComposeRecord, seen: SeenCompose) -> ComposeFile | None:
    raw = seen(record.base_hash) if record.base_hash is not None else None
    if raw is None:
        return None
    try:
        return parse_compose(raw)
    except InvalidInput:
        return None


def _changes(
    record: ComposeRecord, compose: ComposeFile, base: ComposeFile | None
) -> tuple[tuple[str, ...] | None, str]:
    if record.base_hash is None:
        return None, "unknown: the app allowed no compose hash when this was filed"
    shown = f"0x{record.base_hash.hex()}"
    if base is None:
        return None, f"unknown: dstack-gov has not seen the app-compose.json of {shown}, the hash allowed now"
    return diff(base, compose), f"since {shown}, the hash allowed when this was filed"


def review_as_dict(review: ComposeReview) -> dict[str, object]:
    """Return a compose review as camelCase JSON-ready data."""
    data: dict[str, object] = {
        "index": review.index, "app": review.app, "composeHash": "0x" + review.compose_hash.hex(),
        "risk": review.risk.value, "concerns": list(review.concerns),
        "baseHash": None if review.base_hash is None else "0x" + review.base_hash.hex(),
        "changes": None if review.changes is None else list(review.changes), "baseNote": review.base_note,
    }  # fmt: skip
    compose = review.compose
    if compose is None:
        return data | {"verified": False}
    document = compose.document
    return data | {
        "verified": True, "hashOf": review.hash_form, "bytes": len(compose.raw),
        "fileSha256": "0x" + compose.file_sha256.hex(), "canonicalHash": "0x" + compose.canonical_hash.hex(),
        "name": document.get("name"),
        "services": [{"name": s.name, "image": s.image, "pinned": not s.unpinned, "note": s.unpinned}
                     for s in compose.services],
        "settings": dict(settings_of(document)), "allowedEnvs": list(allowed_envs(document)),
        "preLaunchScript": has_pre_launch_script(document),
    }  # fmt: skip
