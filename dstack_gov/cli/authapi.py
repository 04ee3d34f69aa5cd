"""`dstack-gov authapi`: serve the dstack KMS boot-auth webhook (a thin wrapper over the authapi package)."""

from __future__ import annotations

from pathlib import Path

import click

from authapi.server import listen, serve
from authapi.settings import Settings
from dstack_gov.webhook import load_settings
from foundation.redaction import redact_url


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $DSTACK_GOV_CONFIG, then ./dstack-gov.toml).",
)
@click.option("--rpc-url", help="Ethereum JSON-RPC URL (default: [chain] rpc_url or $ETH_RPC_URL).")
@click.option("--kms", help="DstackKms contract address (default: [contracts] kms or $KMS_CONTRACT_ADDR).")
@click.option("--host", help="Address to listen on (default: [authapi] host, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: [authapi] port or $PORT, 8000).",
)
@click.option(
    "--rpc-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the chain before failing closed (default: [authapi] rpc_timeout, 2).",
)
@click.option(
    "--block-cache/--no-block-cache",
    default=None,
    help="Reuse answers within one block (default: [authapi] block_cache, off).",
)
def authapi(
    config_path: Path | None,
    rpc_url: str | None,
    kms: str | None,
    host: str | None,
    port: int | None,
    rpc_timeout: float | None,
    block_cache: bool | None,
) -> None:
    """Serve the dstack KMS boot-auth webhook (GET /, POST /bootAuth/app, POST /bootAuth/kms)."""
    settings = load_settings(
        config_path,
        rpc_url=rpc_url,
        kms=kms,
        host=host,
        port=port,
        rpc_timeout=rpc_timeout,
        block_cache=block_cache,
    )
    sock = listen(settings)
    host_name, bound_port = sock.getsockname()[:2]
    click.echo(
        f"authapi: serving on http://{host_name}:{bound_port} for KMS {settings.kms_address} "
        f"via {redact_url(settings.rpc_url)}{_fallbacks(settings)} (timeout {settings.rpc_timeout:g} s, "
        f"block cache {'on' if settings.block_cache else 'off'})",
        err=True,
    )
    serve(settings, sock)


def _fallbacks(settings: Settings) -> str:
    count = len(settings.fallback_rpc_urls)
    return f" (+{count} fallback node{'s' if count > 1 else ''})" if count else ""
