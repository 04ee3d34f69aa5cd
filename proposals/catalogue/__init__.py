"""The one declarative catalogue of governance actions.

CLI subcommands, the bot's /propose grammar, proposal files, decoding of foreign Safe
transactions and the docs are all generated from these declarations.
"""

from .model import (
    Action,
    Finding,
    Group,
    MembershipEffect,
    Risk,
    SettingEffect,
    Severity,
    StateChange,
    StateReader,
)
from .params import Kind, Param, parse_address, parse_hex, render_value
from .registry import CATALOGUE, DecodedCall, actions, decode_call, get_action

__all__ = [
    "CATALOGUE",
    "Action",
    "DecodedCall",
    "Finding",
    "Group",
    "Kind",
    "MembershipEffect",
    "Param",
    "Risk",
    "SettingEffect",
    "Severity",
    "StateChange",
    "StateReader",
    "actions",
    "decode_call",
    "get_action",
    "parse_address",
    "parse_hex",
    "render_value",
]
