"""Rendering compose reviews for people: what each compose hash in a proposal stands for."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from proposals.catalogue import Risk
from proposals.compose import render_setting
from proposals.views import ComposeReview

_RISK_STYLE = {Risk.HIGH: "red", Risk.MEDIUM: "yellow", Risk.LOW: "green"}


def render_composes(console: Console, reviews: tuple[ComposeReview, ...]) -> None:
    """Print each app-compose.json review: services and pinning, settings, and the diff (all text escaped)."""
    for review in reviews:
        style = _RISK_STYLE[review.risk]
        head = f"[bold]app-compose.json of action {review.index + 1}[/] risk: [{style}]{review.risk.value}[/]"
        compose = review.compose
        if compose is None:
            console.print(head)
            for concern in review.concerns:
                console.print(f"  [bold red]⚠ {escape(concern)}[/]")
            continue
        console.print(f"{head} (compose hash = sha256 of {review.hash_form}, {review.size:,} bytes)")
        if compose.document.get("name"):
            console.print(f"  name {escape(render_setting(compose.document['name']))}")
        for service in review.services:
            note = f"[red]⚠ {escape(service.unpinned)}[/]" if service.unpinned else "[green]pinned by digest[/]"
            console.print(f"  service {escape(service.name)}: {escape(service.image or '(no image)')}  {note}")
        console.print("  " + " · ".join(f"{key} {escape(value)}" for key, value in review.settings))
        envs = ", ".join(escape(e) for e in review.allowed_envs) or "none"
        script = "yes" if review.pre_launch_script else "none"
        console.print(f"  allowed_envs: {envs} · pre-launch script: {script}")
        if review.changes is None:
            console.print(f"  changes: {escape(review.base_note)}")
            continue
        console.print(f"  changes {escape(review.base_note)}:" if review.changes else "  changes: none")
        for change in review.changes:
            console.print(f"    • {escape(change)}")
