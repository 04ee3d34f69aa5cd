"""What an action declaration is made of: parameters, encoding, effect on state, risk."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_abi import decode, encode
from eth_abi.grammar import TupleType
from eth_abi.grammar import parse as parse_type
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from proposals.errors import InvalidInput

from .params import Param, render_value


class Group(enum.Enum):
    """Which kind of contract an action targets."""

    KMS = "kms"
    APP = "app"
    SAFE = "safe"


class Risk(enum.Enum):
    """How carefully signers should read a proposal containing the action."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Severity(enum.Enum):
    """A precheck finding either warns or refuses (unless forced)."""

    WARN = "warn"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Finding:
    """One result of a precheck."""

    severity: Severity
    message: str


@dataclass(frozen=True)
class StateChange:
    """One expected state difference, before -> after."""

    label: str
    before: str
    after: str


class StateReader(Protocol):
    """Read-only access to the chain, for prechecks and state diffs."""

    def read(self, group: Group, target: ChecksumAddress, getter: str, args: Sequence[Any] = ()) -> Any:
        """Call view function `getter` of the `group` interface at `target`."""

    def app_registered(self, app: ChecksumAddress) -> bool | None:
        """Return whether `app` is registered with the configured KMS (None: no KMS known)."""


Values = Mapping[str, Any]


@dataclass(frozen=True)
class MembershipEffect:
    """A whitelist entry switched on or off: `getter(values[key])` becomes `enabled`."""

    getter: str
    key: str
    enabled: bool
    noun: str

    def current(self, reader: StateReader, group: Group, target: ChecksumAddress, values: Values) -> Any:
        return reader.read(group, target, self.getter, [values[self.key]])

    def target_value(self, values: Values) -> Any:
        return self.enabled

    def label(self, values: Values) -> str:
        return f"{self.noun} {render_value(values[self.key])} allowed"

    def unchanged_message(self, values: Values) -> str:
        state = "already allowed" if self.enabled else "not allowed (nothing to remove)"
        return f"{self.noun} {render_value(values[self.key])} is {state}"


@dataclass(frozen=True)
class SettingEffect:
    """A scalar setting: `getter()` becomes `values[param]` (or `constant`)."""

    getter: str
    noun: str
    param: str | None = None
    constant: Any = None
    getter_args: tuple[str, ...] = ()

    def current(self, reader: StateReader, group: Group, target: ChecksumAddress, values: Values) -> Any:
        return reader.read(group, target, self.getter, [values[a] for a in self.getter_args])

    def target_value(self, values: Values) -> Any:
        return values[self.param] if self.param else self.constant

    def label(self, values: Values) -> str:
        return self.noun

    def unchanged_message(self, values: Values) -> str:
        return f"{self.noun} is already {render_value(self.target_value(values))}"


Effect = MembershipEffect | SettingEffect
CustomDiff = Callable[[StateReader, ChecksumAddress, Values], list[StateChange]]
CustomCheck = Callable[[StateReader, ChecksumAddress, Values], list[Finding]]
# Fills values derived from chain state (create-app's owner defaults to the KMS owner).
Complete = Callable[[Values, StateReader, ChecksumAddress], dict[str, Any]]
# Turns user values into ABI arguments (may read the chain: the Safe's prevOwner) and back.
ToAbi = Callable[[Values, StateReader | None, ChecksumAddress | None], tuple[Any, ...]]
FromAbi = Callable[[Sequence[Any]], dict[str, Any]]


def split_types(signature: str) -> tuple[str, ...]:
    """Return the top-level argument types of `name(type,...)`, parsed with eth-abi's type grammar."""
    arguments = signature[signature.index("(") :]
    if arguments == "()":  # eth-abi's grammar has no zero-sized tuple
        return ()
    parsed = parse_type(arguments)
    if not isinstance(parsed, TupleType) or parsed.arrlist:
        raise ValueError(f"not a function signature: {signature!r}")
    # A typo such as uint7 fails when the catalogue loads, not when a proposal is encoded.
    parsed.validate()  # type: ignore[no-untyped-call]
    return tuple(component.to_type_str() for component in parsed.components)


@dataclass(frozen=True)
class Action:
    """One governance action, declared once; everything else is generated from it."""

    group: Group
    command: str
    summary: str
    function: str
    params: tuple[Param, ...]
    describe_template: str
    risk: Risk = Risk.LOW
    effect: Effect | None = None
    custom_diff: CustomDiff | None = None
    custom_check: CustomCheck | None = None
    complete_values: Complete | None = None
    to_abi: ToAbi | None = None
    from_abi: FromAbi | None = None
    # Actions anyone may call (registerApp) don't need the owner's signature.
    permissionless: bool = False
    # Whose signature the call needs: the target's `owner()`, or (acceptOwnership) its `pendingOwner()`.
    caller_getter: str = "owner"
    extra_help: str = ""
    # The bytes32 parameter an app-compose.json may stand behind (proposals/compose.py checks and shows it).
    compose_param: str | None = None
    arg_types: tuple[str, ...] = field(init=False)
    selector: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_types", split_types(self.function))
        object.__setattr__(self, "selector", function_signature_to_4byte_selector(self.function))

    @property
    def name(self) -> str:
        """Return the stable kebab-case name, e.g. `kms-add-image`."""
        return f"{self.group.value}-{self.command}"

    @property
    def cli_path(self) -> str:
        """Return the CLI path, e.g. `kms add-image`."""
        return f"{self.group.value} {self.command}"

    @property
    def function_name(self) -> str:
        return self.function[: self.function.index("(")]

    def parse(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate raw user values into typed ones; unknown names are refused."""
        known = {p.name for p in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            expected = ", ".join(p.name for p in self.params) or "no parameters"
            raise InvalidInput(f"{self.name}: unknown parameter {unknown[0]!r} (expected {expected})")
        return {p.name: p.parse(raw.get(p.name)) for p in self.params}

    def complete(self, values: Values, reader: StateReader, target: ChecksumAddress) -> dict[str, Any]:
        """Return `values` with chain-derived defaults filled in."""
        return self.complete_values(values, reader, target) if self.complete_values else dict(values)

    def abi_args(
        self, values: Values, reader: StateReader | None = None, target: ChecksumAddress | None = None
    ) -> tuple[Any, ...]:
        """Return the ABI arguments for `values`."""
        if self.to_abi is not None:
            return self.to_abi(values, reader, target)
        return tuple(values[p.name] for p in self.params)

    def encode(self, values: Values, reader: StateReader | None = None, target: ChecksumAddress | None = None) -> bytes:
        """Return the calldata of this action with `values`."""
        return self.selector + encode(list(self.arg_types), list(self.abi_args(values, reader, target)))

    def decode(self, calldata: bytes) -> dict[str, Any]:
        """Return the user values encoded in `calldata` (which must start with our selector)."""
        raw = decode(list(self.arg_types), bytes(calldata[4:]))
        if self.from_abi is not None:
            return {k: _normalise(v) for k, v in self.from_abi(raw).items()}
        return {p.name: _normalise(v) for p, v in zip(self.params, raw, strict=True)}

    def describe(self, values: Values, target: ChecksumAddress | str = "") -> str:
        """Say in one line what the action does."""
        rendered = {k: render_value(v) for k, v in values.items()}
        return self.describe_template.format(target=target, **rendered)

    def precheck(self, reader: StateReader, target: ChecksumAddress, values: Values) -> list[Finding]:
        """Compare the action with the current chain state."""
        findings: list[Finding] = []
        if self.effect is not None:
            current = self.effect.current(reader, self.group, target, values)
            if _same(current, self.effect.target_value(values)):
                findings.append(Finding(Severity.REFUSE, self.effect.unchanged_message(values)))
        if self.group is Group.APP and reader.app_registered(target) is False:
            findings.append(Finding(Severity.WARN, f"app {target} is not registered with this KMS"))
        if self.custom_check is not None:
            findings.extend(self.custom_check(reader, target, values))
        return findings

    def diff(self, reader: StateReader, target: ChecksumAddress, values: Values) -> list[StateChange]:
        """Return the expected state change, before -> after."""
        if self.custom_diff is not None:
            return self.custom_diff(reader, target, values)
        if self.effect is None:
            return []
        before = self.effect.current(reader, self.group, target, values)
        after = self.effect.target_value(values)
        return [StateChange(self.effect.label(values), render_value(before), render_value(after))]


def _normalise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return Web3.to_checksum_address(value)
    return value


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(current, str) and isinstance(wanted, str) and current.startswith("0x"):
        return current.lower() == wanted.lower()
    return bool(current == wanted)
