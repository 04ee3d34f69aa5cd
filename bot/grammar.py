"""The /propose grammar and its help, generated from the action catalogue.

    /propose <action> [<app>] <required params in order> [name=value ...] [--force]
    Title (optional second line)
    Description (the remaining lines)

App actions take the app address first; Safe actions accept `safe=0x…` (the only Safe is the
default); optional parameters are given as name=value. `--force` files it even when a precheck
refuses (e.g. "compose hash already allowed"); the simulation must still pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.markup import code, esc, shorten
from proposals.catalogue import CATALOGUE, Action, Group, Param, get_action
from proposals.errors import InvalidInput
from proposals.planning import ChangeRequest, RequestedAction

MAX_TITLE = 200
FORCE_FLAG = "--force"


def usage(action: Action) -> str:
    """Return the command line for `action`, e.g. `/propose app-add-hash <app> <composeHash>`."""
    parts = ["/propose", action.name]
    if action.group is Group.APP:
        parts.append("<app>")
    parts += [f"<{p.name}>" for p in action.params if not p.optional]
    parts += [f"[{p.name}=…]" for p in action.params if p.optional]
    if action.group is Group.SAFE:
        parts.append("[safe=…]")
    parts.append("[--force]")
    return " ".join(parts)


def _param_help(param: Param) -> str:
    default = " (optional)" if param.optional else ""
    return f"  {code(param.name)}: {esc(param.help)}{default}"


def action_help(action: Action) -> str:
    """Return the help of one action: summary, command line, parameters."""
    lines = [f"<b>{esc(action.name)}</b>: {esc(action.summary)}", code(usage(action))]
    lines += [_param_help(p) for p in action.params]
    if action.extra_help:
        lines.append(esc(action.extra_help))
    return "\n".join(lines)


def catalogue_help() -> str:
    """Return the list of actions /propose knows, one line each."""
    lines = ["<b>Actions</b> (/propose &lt;action&gt; … ; /help &lt;action&gt; for details)"]
    for group in Group:
        lines.append("")
        lines.append(f"<b>{esc(group.value.upper())}</b>")
        lines += [f"{code(a.name)} {esc(a.summary)}" for a in CATALOGUE if a.group is group]
    return "\n".join(lines)


@dataclass(frozen=True)
class ParsedCommand:
    """The words of the first line and the lines after it."""

    words: tuple[str, ...]
    title: str
    description: str
    force: bool = False


def split_message(text: str) -> ParsedCommand:
    """Split a /propose message into its argument words, title line and description."""
    first, _, rest = text.partition("\n")
    words = tuple(first.split()[1:])  # drop "/propose" (or "/propose@bot")
    force = FORCE_FLAG in words
    title, _, description = rest.strip().partition("\n")
    return ParsedCommand(tuple(w for w in words if w != FORCE_FLAG), title.strip(), description.strip(), force)


def _assign(action: Action, words: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    positional = [w for w in words if "=" not in w]
    named = dict(w.split("=", 1) for w in words if "=" in w)
    target = named.pop("safe", None) if action.group is Group.SAFE else None
    if action.group is Group.APP:
        if not positional:
            raise InvalidInput(f"which app? Usage: {usage(action)}")
        target = positional.pop(0)
    values: dict[str, str] = {}
    required = [p for p in action.params if not p.optional and p.name not in named]
    if len(positional) < len(required):
        missing = ", ".join(p.name for p in required[len(positional) :])
        raise InvalidInput(f"missing {missing}. Usage: {usage(action)}")
    if len(positional) > len(required):
        raise InvalidInput(f"too many values. Usage: {usage(action)}")
    for param, word in zip(required, positional, strict=True):
        values[param.name] = word
    values.update(named)
    return values, target


@dataclass(frozen=True)
class ProposeCommand:
    """A parsed /propose: the change request, and whether prechecks may be overridden."""

    request: ChangeRequest
    force: bool


def parse_propose(text: str) -> ChangeRequest:
    """Parse a /propose message into a change request; InvalidInput says what is wrong and how to fix it."""
    return parse_propose_command(text).request


def parse_propose_command(text: str) -> ProposeCommand:
    """Parse a /propose message, `--force` included."""
    parsed = split_message(text)
    if not parsed.words:
        raise InvalidInput("which action? Usage: /propose <action> … (see /help for the list)")
    action = get_action(parsed.words[0])
    values, target = _assign(action, parsed.words[1:])
    typed = action.parse(values)  # validates every value now, with the parameter's name in the error
    title = parsed.title or shorten(action.describe(typed, target or ""), MAX_TITLE)
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters")
    request = ChangeRequest(title, (RequestedAction(action, values, target),), parsed.description)
    return ProposeCommand(request, parsed.force)
