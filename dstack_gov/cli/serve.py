"""`dstack-gov serve`: the JSON API the bot, the signing page and the CLI share."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import click

from dstack_gov.api import create_api, listen
from dstack_gov.api import serve as run_server
from dstack_gov.cli.session import api_options, chain_options
from dstack_gov.cli.signing_page import telegram_auth
from dstack_gov.config import Config, load_config, resolve_config_path
from dstack_gov.wiring import Overrides, build_service
from foundation.redaction import redact_url
from proposals.catalogue import parse_address

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def api_token(config: Config, token_env: str | None, environ: Mapping[str, str]) -> str | None:
    """Return the bearer token: [api] token, else the env var named by --token-env or [api] token_env."""
    if config.api.token is not None:
        token = config.api.token.get_secret_value().strip()
    else:
        token = environ.get(token_env or config.api.token_env, "").strip()
    return token or None


@click.command()
@chain_options
@api_options
def serve(
    config_path: Path | None,
    rpc_url: str | None,
    kms: str | None,
    json_output: bool,
    host: str | None,
    port: int | None,
    token_env: str | None,
) -> None:
    """Serve the JSON API (/api/...), /healthz and /metrics; writes need the bearer token."""
    config = load_config(resolve_config_path(config_path))
    overrides = Overrides(rpc_url=rpc_url, kms=parse_address(kms, "--kms") if kms else None)
    token = api_token(config, token_env, os.environ)
    host = host or config.api.host
    sock = listen(host, config.api.port if port is None else port)
    try:
        service = build_service(config, overrides)
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{bound_host}:{bound_port}"
    summary = {
        "url": url,
        "rpc": ", ".join(redact_url(url) for url in overrides.endpoints(config)),
        "safes": list(service.safes),
        "executor": service.executor.address if service.executor else None,
        "writes": token is not None,
    }
    if json_output:
        click.echo(json.dumps(summary))
    else:
        writes = "enabled" if token else "disabled (set [api] token or $" + (token_env or config.api.token_env) + ")"
        click.echo(f"serve: API on {url} via {summary['rpc']}; executor {summary['executor'] or 'none'}; "
                   f"writes {writes}", err=True)  # fmt: skip
    if token and host not in LOOPBACK_HOSTS:
        click.echo("serve: warning: the bearer token travels in clear text unless a TLS proxy fronts this", err=True)
    try:
        run_server(create_api(service, token=token, telegram=telegram_auth(config, os.environ)), sock)
    finally:
        service.close()
