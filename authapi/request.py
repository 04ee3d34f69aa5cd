"""The webhook's request body: camelCase JSON from the dstack KMS, validated and zero-padded."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

MAX_TCB_STATUS_CHARS = 128
MAX_ADVISORY_IDS = 128
MAX_ADVISORY_ID_CHARS = 256

_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]*)")


def _hex_parser(width: int, *, optional: bool = False) -> Any:
    """Return a validator: a hex string (0x optional) of at most `width` bytes, left-padded with zeros."""

    def parse(value: object) -> bytes:
        if value is None and optional:
            return bytes(width)
        if not isinstance(value, str):
            raise ValueError("must be a hex string")
        match = _HEX.fullmatch(value)
        if match is None:
            raise ValueError("must be a hex string")
        digits = match.group(1)
        if len(digits) > 2 * width:
            raise ValueError(f"must be at most {width} bytes")
        return bytes.fromhex(digits.rjust(2 * width, "0"))

    return parse


Bytes32 = Annotated[bytes, PlainValidator(_hex_parser(32))]
Bytes20 = Annotated[bytes, PlainValidator(_hex_parser(20))]
OptionalBytes32 = Annotated[bytes, PlainValidator(_hex_parser(32, optional=True))]
TcbStatus = Annotated[str, StringConstraints(max_length=MAX_TCB_STATUS_CHARS)]
AdvisoryId = Annotated[str, StringConstraints(max_length=MAX_ADVISORY_ID_CHARS)]


class BootAuthRequest(BaseModel):
    """What the KMS knows about a VM that asks to boot; unknown fields (teeVariant, ...) are ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="ignore", frozen=True, strict=True, validate_by_name=False
    )

    app_id: Bytes20
    compose_hash: Bytes32
    instance_id: Bytes20
    device_id: Bytes32
    mr_aggregated: Bytes32
    mr_system: OptionalBytes32 = bytes(32)
    os_image_hash: Bytes32
    tcb_status: TcbStatus = ""
    advisory_ids: list[AdvisoryId] = Field(default_factory=list, max_length=MAX_ADVISORY_IDS)

    @field_validator("tcb_status", "advisory_ids", mode="before")
    @classmethod
    def _null_is_absent(cls, value: object, info: ValidationInfo) -> object:
        """Read JSON null in an optional field as the field's default."""
        if value is None and info.field_name is not None:
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value

    def member(self, abi_name: str) -> object:
        """Return the value of the boot-info struct member `abi_name` (camelCase, as the ABI names it)."""
        return getattr(self, _SNAKE_BY_CAMEL[abi_name])


_SNAKE_BY_CAMEL = {to_camel(name): name for name in BootAuthRequest.model_fields}
