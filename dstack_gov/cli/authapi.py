"""`dstack-gov authapi`: placeholder registration point for the boot-auth webhook command."""

from __future__ import annotations

import click


@click.command()
def authapi() -> None:
    """Serve the dstack KMS boot-auth webhook (GET /, POST /bootAuth/app, POST /bootAuth/kms)."""
    raise click.ClickException("authapi is not built yet")
