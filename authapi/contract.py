"""Calldata and answers of the KMS contract's view functions, straight from its ABI.

eth_abi encodes and decodes; the boot-info struct, on every request, goes through struct_encoding.py,
checked against eth_abi when built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, cast

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.registry import registry
from eth_utils.abi import collapse_if_tuple, function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from contracts import kms_abi

from .jsonrpc import RpcError
from .request import BootAuthRequest
from .struct_encoding import StructEncoder


@dataclass(frozen=True)
class ViewFunction:
    """One view function: its selector and the ABI types it takes and returns."""

    name: str
    selector: bytes
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    struct_members: tuple[str, ...]  # member names when the single input is a struct, else ()
    struct_encoder: StructEncoder | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_abi(cls, abi: Sequence[dict[str, Any]], name: str) -> ViewFunction:
        """Build from the first ABI entry of function `name`."""
        item = next(i for i in abi if i.get("type") == "function" and i.get("name") == name)
        inputs = tuple(collapse_if_tuple(p) for p in item["inputs"])
        members: tuple[str, ...] = ()
        encoder = None
        if len(item["inputs"]) == 1 and "components" in item["inputs"][0]:
            components = item["inputs"][0]["components"]
            members = tuple(str(c["name"]) for c in components)
            encoder = _checked_struct_encoder(name, inputs, [collapse_if_tuple(c) for c in components])
        return cls(
            name=name,
            selector=function_signature_to_4byte_selector(f"{name}({','.join(inputs)})"),
            input_types=inputs,
            output_types=tuple(collapse_if_tuple(p) for p in item["outputs"]),
            struct_members=members,
            struct_encoder=encoder,
        )

    def calldata(self, *args: object) -> str:
        """Return the 0x-hex calldata of a call with `args`."""
        encoded = _encoder(self.input_types)(args) if self.input_types else b""
        return "0x" + (self.selector + encoded).hex()

    def struct_calldata(self, members: Sequence[object]) -> str:
        """Return the 0x-hex calldata of a call whose only argument is the struct of `members`."""
        if self.struct_encoder is None:
            return self.calldata(tuple(members))  # a struct with member kinds StructEncoder lacks
        return "0x" + (self.selector + self.struct_encoder.encode(members)).hex()

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """Decode a return value strictly; raise RpcError when it does not fit the ABI."""
        if len(data) <= MAX_MEMO_BYTES:
            return _memo_decode(self.name, self.output_types, data)
        return _decode(self.name, self.output_types, data)


@cache
def _encoder(types: tuple[str, ...]) -> Callable[[tuple[object, ...]], bytes]:
    """Return eth_abi's encoder of the argument tuple, built once (encode() rebuilds it every call)."""
    return cast(Callable[[tuple[object, ...]], bytes], registry.get_encoder(f"({','.join(types)})"))


def _checked_struct_encoder(name: str, inputs: tuple[str, ...], member_types: Sequence[str]) -> StructEncoder | None:
    """Return the struct encoder of `name`'s argument, once it encodes a sample exactly as eth_abi does.

    None when the struct has a member kind StructEncoder lacks: eth_abi then encodes every call.
    """
    try:
        encoder = StructEncoder(member_types)
    except ValueError:
        return None
    sample = [_SAMPLES[t.rstrip("0123456789") if t.startswith("bytes") else t](t) for t in member_types]
    if encoder.encode(sample) != _encoder(inputs)((tuple(sample),)):
        raise RuntimeError(f"{name}(): the struct encoder disagrees with eth_abi")
    return encoder


_SAMPLES: dict[str, Callable[[str], object]] = {
    "address": lambda _: bytes(range(1, 21)),
    "bytes": lambda t: bytes(range(0x40, 0x40 + int(t[5:]))),
    "string": lambda _: "Up-to-date, ünicode of odd length",
    "string[]": lambda _: ["INTEL-SA-00828", "", "x" * 33],
}


def _decode(name: str, types: tuple[str, ...], data: bytes) -> tuple[Any, ...]:
    try:
        values = tuple(decode(list(types), data))
        canonical = _encoder(types)(values)
    except (DecodingError, EncodingError, ValueError, OverflowError) as exc:
        raise RpcError(f"undecodable answer to {name}() ({type(exc).__name__})") from exc
    # eth_abi reads what the types need and ignores the rest: trailing bytes, or offsets pointing at
    # other bytes than a compiler would, could make a verdict out of an answer that is not one.
    # Only the one encoding the contract itself produces is accepted.
    if canonical != data:
        raise RpcError(f"undecodable answer to {name}() (not its canonical ABI encoding)")
    return values


# Many answers are byte-identical (every allowed verdict, every gatewayAppId within a block), and
# decoding is a pure function of the bytes, so a small memo saves most of the decoding work. Only
# short answers are kept: an app contract chooses its reason string, and so its length.
MAX_MEMO_BYTES = 512
_memo_decode = lru_cache(maxsize=1024)(_decode)


def _expect(kind: type, value: object, name: str) -> Any:
    if not isinstance(value, kind):
        raise RpcError(f"undecodable answer to {name}()")
    return value


@dataclass(frozen=True)
class KmsCalls:
    """The four KMS view functions the webhook reads, taken from the DstackKms ABI."""

    is_app_allowed: ViewFunction
    is_kms_allowed: ViewFunction
    gateway_app_id: ViewFunction
    app_implementation: ViewFunction

    @classmethod
    def from_abi(cls, abi: Sequence[dict[str, Any]] | None = None) -> KmsCalls:
        """Build from `abi` (default: the DstackKms ABI that docs/interface.md fixes)."""
        abi = kms_abi() if abi is None else abi
        return cls(
            *(
                ViewFunction.from_abi(abi, n)
                for n in ("isAppAllowed", "isKmsAllowed", "gatewayAppId", "appImplementation")
            )
        )

    def boot_check(self, for_kms: bool) -> ViewFunction:
        """Return isKmsAllowed or isAppAllowed."""
        return self.is_kms_allowed if for_kms else self.is_app_allowed

    def boot_calldata(self, for_kms: bool, request: BootAuthRequest) -> str:
        """Encode the boot check with the request as its boot-info struct (members in ABI order)."""
        function = self.boot_check(for_kms)
        return function.struct_calldata([request.member(m) for m in function.struct_members])

    def decode_verdict(self, for_kms: bool, data: bytes) -> tuple[bool, str]:
        """Decode `(bool isAllowed, string reason)`."""
        function = self.boot_check(for_kms)
        allowed, reason = function.decode(data)
        return _expect(bool, allowed, function.name), _expect(str, reason, function.name)

    def decode_gateway_app_id(self, data: bytes) -> str:
        """Decode gatewayAppId()'s string."""
        (value,) = self.gateway_app_id.decode(data)
        return str(_expect(str, value, "gatewayAppId"))

    def decode_app_implementation(self, data: bytes) -> str:
        """Decode appImplementation()'s address, checksummed."""
        (value,) = self.app_implementation.decode(data)
        return str(to_checksum_address(_expect(str, value, "appImplementation")))
