"""Replies other than the announcement, as pure functions of the data they show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.commands import COMMANDS
from bot.markup import bold, code, esc, mention, shorten
from bot.render import state_badge
from bot.store import Link
from proposals.policy import AppPolicy, KmsPolicy
from proposals.safe_tx import SafeState
from proposals.service_support import ProposalSummary


def help_text() -> str:
    """Return the command list."""
    lines = [bold("dstack-gov signing bot"), ""]
    lines += [f"{code(usage)}: {esc(summary)}" for _, usage, summary in COMMANDS]
    lines += ["", "A proposal file (YAML or JSON: title, description, actions) sent as a document files a "
              "proposal too. /help actions lists what /propose can do."]  # fmt: skip
    return "\n".join(lines)


def pending_text(rows: Sequence[ProposalSummary], limit: int = 30) -> str:
    """Return the open proposals, newest first."""
    if not rows:
        return "No open proposals."
    lines = [bold(f"Open proposals ({len(rows)})")]
    for row in rows[:limit]:
        p = row.proposal
        lines.append(
            f"#{p.id} · {esc(state_badge(p))} · {row.signatures}/{row.threshold} · nonce {p.nonce} · "
            f"{esc(shorten(p.title, 80))}"
        )
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit} more (older)")
    return "\n".join(lines)


def owners_text(states: Sequence[SafeState], links: Mapping[str, Link], names: Mapping[str, str]) -> str:
    """Return each Safe's owners, threshold and nonce, with linked Telegram users."""
    lines: list[str] = []
    for state in states:
        name = names.get(state.address.lower(), "")
        label = f" ({esc(name)})" if name else ""
        summary = f"threshold {state.threshold} of {len(state.owners)} · nonce {state.nonce} · v{esc(state.version)}"
        lines += [f"{bold('Safe')} {code(state.address)}{label}", summary]
        for owner in state.owners:
            linked = links.get(owner.lower())
            who = mention(linked.user_id, linked.name) if linked else "<i>not linked</i> (/link)"
            lines.append(f"• {code(owner)}: {who}")
        lines.append("")
    return "\n".join(lines).strip() or "No Safes configured."


def _hexes(values: Sequence[bytes]) -> list[str]:
    return [f"  • {code('0x' + bytes(v).hex())}" for v in values] or ["  (none)"]


NO_POLICY_HERE = "None of this chat's Safes owns the KMS or one of its registered apps: no policy to show here."


def policy_text(kms: KmsPolicy | None, apps: Sequence[AppPolicy], *, hidden: int = 0) -> str:
    """Return the on-chain whitelists: images, KMS measurements and devices, gateway, apps (`hidden` more apps)."""
    if kms is None:
        return "No KMS is configured (contracts.kms)."
    lines = [f"{bold('KMS')} {code(kms.kms)}", f"owner {code(kms.owner)}",
             f"gateway app {code(kms.gateway_app_id or '(none)')}",
             bold("OS images"), *_hexes(kms.os_images),
             bold("KMS measurements"), *_hexes(kms.aggregated_mrs),
             bold("KMS devices"), *_hexes(kms.devices)]  # fmt: skip
    lines.append(bold(f"Apps ({len(apps)})"))
    for app in apps:
        flags = [f"any device: {'yes' if app.allow_any_device else 'no'}",
                 f"TCB up to date required: {'yes' if app.require_tcb_up_to_date else 'no'}",
                 f"upgrades: {'disabled' if app.upgrades_disabled else 'allowed'}"]  # fmt: skip
        lines += ["", f"{bold('App')} {code(app.app)}", f"owner {code(app.owner)} · {esc(' · '.join(flags))}",
                  "compose hashes:", *_hexes(app.compose_hashes), "devices:", *_hexes(app.devices)]  # fmt: skip
    if hidden:
        lines += ["", f"{hidden} more registered app(s) belong to Safes outside this chat; not shown here."]
    return "\n".join(lines)


def challenge_text(owner: str, challenge: str, minutes: int) -> str:
    """Return the instructions for linking an owner address."""
    example = f"cast wallet sign '{challenge}'"
    return "\n".join(
        [
            f"To link {code(owner)}, sign this text with that key (personal_sign), within {minutes} minutes:",
            f"<pre>{esc(challenge)}</pre>",
            f"For example: {code(example)}",
            f"Then send {code(f'/link {owner} 0x<signature>')}",
        ]
    )
