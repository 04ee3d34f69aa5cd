"""The actions reference page, generated from the catalogue (docs/actions.md is this output)."""

from __future__ import annotations

from .model import Action, Group
from .registry import actions

_GROUP_TITLES = {
    Group.KMS: "DstackKms (target: the KMS proxy)",
    Group.APP: "DstackApp (target: the app contract, `--app-id` / `app:` in files)",
    Group.SAFE: "The Safe itself (always a proposal)",
}


def _usage(action: Action) -> str:
    parts = [f"dstack-gov {action.cli_path}"]
    for param in action.params:
        if param.flag and param.kind.value == "bool":
            parts.append(f"[{param.flag}]")
        elif param.optional:
            flag = param.flag or "--" + "".join("-" + c.lower() if c.isupper() else c for c in param.name)
            parts.append(f"[{flag} {param.kind.value.upper()}]")
        elif param.name == action.compose_param:
            parts.append(f"[<{param.name}>] [--compose-file app-compose.json]")
        else:
            parts.append(f"<{param.name}>")
    return " ".join(parts)


def render_markdown() -> str:
    """Return the Markdown reference of every action."""
    lines = [
        "# Governance actions",
        "",
        "Generated from the action catalogue (`proposals/catalogue`); do not edit by hand.",
        "Run `dstack-gov catalogue --markdown > docs/actions.md` after changing an action.",
        "",
        "Each action works three ways: as a CLI command (`dstack-gov kms add-image …`, sent directly",
        "with a key or filed as a Safe proposal), as a proposal-file entry (`action: kms add-image`",
        "plus its parameters named as below), and in Telegram (`/propose kms-add-image …`).",
        "",
    ]
    for group in Group:
        lines += [f"## {_GROUP_TITLES[group]}", ""]
        for action in actions(group):
            lines += [
                f"### `{action.name}`: {action.summary}",
                "",
                f"- call: `{action.function}` (selector `0x{action.selector.hex()}`)",
                f"- risk: **{action.risk.value}**" + (" (anyone may call it)" if action.permissionless else ""),
                f"- usage: `{_usage(action)}`",
            ]
            if action.params:
                lines.append("- parameters:")
                for param in action.params:
                    optional = " (optional)" if param.optional else ""
                    lines.append(f"  - `{param.name}` ({param.kind.value}{optional}): {param.help}")
            if action.compose_param:
                lines.append(f"- evidence: the app-compose.json behind `{action.compose_param}` (`--compose-file`, "
                             "or `composeFile:` / `compose:` in a proposal file) is checked against it and shown to "
                             "signers; see [compose review](compose-review.md)")  # fmt: skip
            lines.append("")
    return "\n".join(lines)
