"""The compose section of an announcement: what each compose hash stands for, as Telegram HTML.

Every compose string is the proposer's text: it is shortened, then escaped (bot.markup), and the
lists are cut to the announcement's budget with a note, so the message stays within Telegram's limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.markup import bold, code, esc, short_hex, shorten
from proposals.views import ComposeReview

MAX_IMAGE = 120  # characters of an image reference (a digest reference is about 100)
MAX_NAME = 60


def _cut(lines: Sequence[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"… and {len(lines) - limit} more (tap Details)"]


def _services(review: ComposeReview, limit: int) -> list[str]:
    lines = []
    for service in review.services:
        image = code(shorten(service.image, MAX_IMAGE)) if service.image else "no image"
        verdict = f"⚠️ {esc(service.unpinned)}" if service.unpinned else "✅ pinned by digest"
        lines.append(f"• {esc(shorten(service.name, MAX_NAME))}: {image} {verdict}")
    return _cut(lines, limit)


def _settings(review: ComposeReview) -> list[str]:
    settings = " · ".join(f"{esc(key)} {code(value)}" for key, value in review.settings)
    envs = ", ".join(code(shorten(e, MAX_NAME)) for e in review.allowed_envs[:20]) or "none"
    more = f" (+{len(review.allowed_envs) - 20})" if len(review.allowed_envs) > 20 else ""
    script = "yes" if review.pre_launch_script else "none"
    return [settings, f"allowed_envs: {envs}{more} · pre-launch script: {script}"]


def _changes(review: ComposeReview, limit: int) -> list[str]:
    if review.changes is None:
        return [f"{bold('Compose changes')}: {esc(review.base_note)}"]
    since = f"since {code(short_hex('0x' + review.base_hash.hex()))}" if review.base_hash else ""
    if not review.changes:
        return [f"{bold('Compose changes')} {since}: none"]
    return [f"{bold('Compose changes')} {since}:", *_cut([f"• {esc(c)}" for c in review.changes], limit)]


def compose_lines(reviews: Sequence[ComposeReview], limit: int) -> list[str]:
    """Return the compose section: per reviewed file its services, settings and diff, lists cut to `limit`."""
    lines: list[str] = []
    for review in reviews:
        title = bold(f"app-compose.json of action {review.index + 1}")
        if review.compose is None:
            lines += ["", f"{title}: not shown (see the risk warnings)"]
            continue
        if limit <= 0:
            unpinned = sum(1 for s in review.services if s.unpinned)
            lines += ["", f"{title}: {len(review.services)} service(s), {unpinned} not pinned (tap Details)"]
            continue
        lines += ["", f"{title} · hash = sha256 of {esc(review.hash_form)} · {review.size:,} bytes"]
        lines += _services(review, limit) + _settings(review) + _changes(review, limit)
    return lines
