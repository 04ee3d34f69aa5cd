"""`dstack-gov catalogue`: list every governance action (or print the Markdown reference)."""

from __future__ import annotations

import click

from dstack_gov.cli.output import emit
from proposals.catalogue import CATALOGUE
from proposals.catalogue.docs import render_markdown


@click.command("catalogue")
@click.option("--markdown", is_flag=True, help="Print the Markdown reference (docs/actions.md).")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object.")
def catalogue(markdown: bool, json_output: bool) -> None:
    """List every governance action the CLI, the bot and proposal files understand."""
    if markdown:
        click.echo(render_markdown(), nl=False)
        return
    payload = {
        "actions": [
            {"name": a.name, "cliPath": a.cli_path, "summary": a.summary, "risk": a.risk.value,
             "function": a.function, "params": [p.name for p in a.params]}
            for a in CATALOGUE
        ]
    }  # fmt: skip

    def human(console: object) -> None:
        for action in CATALOGUE:
            params = " ".join(f"<{p.name}>" for p in action.params if not p.optional)
            click.echo(f"{action.name:<28} {action.risk.value:<6} {params}")

    emit(json_output, payload, human)  # type: ignore[arg-type]
