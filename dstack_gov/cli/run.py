"""`dstack-gov run`: the Telegram bot, the scheduler and the HTTP API in one process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dstack_gov.cli.session import api_options, chain_options
from dstack_gov.config import Config, ConfigError, load_config, resolve_config_path
from foundation.redaction import redact_url

if TYPE_CHECKING:
    from bot import BotSettings


def telegram_token(config: Config, environ: Mapping[str, str]) -> str:
    """Return the bot token: telegram.token, else the env var telegram.token_env names."""
    section = config.telegram
    token = section.token.get_secret_value() if section.token else environ.get(section.token_env, "")
    token = token.strip()
    if not token:
        raise ConfigError(f"no Telegram bot token: set telegram.token or ${section.token_env}")
    return token


def bot_settings(config: Config, environ: Mapping[str, str]) -> BotSettings:
    """Return the bot's settings from the config (the token never leaves this object's repr)."""
    from bot import BotSettings, Roles  # the bot's imports (PTB, APScheduler) only when it runs
    from dstack_gov.cli.signing_page import signing_url

    chats = {s.address: s.telegram_chat_id for s in config.safes if s.telegram_chat_id is not None}
    if not chats:
        raise ConfigError("no signers' chat: set telegram_chat_id in at least one [[safes]] entry")
    section, schedule = config.telegram, config.schedule
    return BotSettings(
        token=telegram_token(config, environ),
        chats=chats,  # type: ignore[arg-type]
        safe_names={s.address: s.name for s in config.safes if s.name},  # type: ignore[misc]
        roles=Roles(proposers=frozenset(section.proposers), admins=frozenset(section.admins)),
        base_url=section.api_base_url,
        reminder_interval=schedule.reminder_interval,
        poll_interval=schedule.poll_interval,
        retry_interval=max(schedule.poll_interval, 60.0),
        explorer_tx_url=config.explorer.tx_url,
        explorer_address_url=config.explorer.address_url,
        webhook_url=section.webhook_url,
        signing_url=signing_url(config),
        mini_app=section.mini_app,
    )


@click.command("run")
@chain_options
@click.option("--webhook", is_flag=True, help="Receive updates at telegram.webhook_url instead of long polling.")
@click.option("--no-api", is_flag=True, help="Do not serve the HTTP API (the webhook route is still served).")
@api_options
def run(
    config_path: Path | None,
    rpc_url: str | None,
    kms: str | None,
    json_output: bool,
    webhook: bool,
    no_api: bool,
    host: str | None,
    port: int | None,
    token_env: str | None,
) -> None:
    """Run the Telegram bot, the scheduler and the HTTP API; SIGTERM stops it gracefully.

    On PostgreSQL several replicas may run: one leads (bot, scheduler, executor), all serve HTTP.
    """
    from telegram.error import BadRequest, InvalidToken, NetworkError

    from bot import BotRuntime, run_until_signalled
    from bot.page_links import PageLinker
    from bot.store import BotStore
    from dstack_gov.api import create_api, listen
    from dstack_gov.cli.serve import api_token
    from dstack_gov.cli.signing_page import telegram_auth
    from dstack_gov.replicas import claim_replica
    from dstack_gov.wiring import Overrides, build_service
    from proposals.catalogue import parse_address
    from proposals.errors import Unavailable

    config = load_config(resolve_config_path(config_path))
    settings = bot_settings(config, os.environ)
    if webhook and not settings.webhook_url:
        raise ConfigError("--webhook needs telegram.webhook_url (the public HTTPS URL Telegram posts to)")
    # SQLite: a second `run` on the same file is refused here (Conflict); PostgreSQL: replicas elect a leader.
    leader_lock = claim_replica(config)
    overrides = Overrides(rpc_url=rpc_url, kms=parse_address(kms, "--kms") if kms else None)
    sock: socket.socket | None = None
    try:
        if webhook or not no_api:
            sock = listen(host or config.api.host, config.api.port if port is None else port)
        service = build_service(config, overrides)
    except BaseException:
        if sock is not None:
            sock.close()
        leader_lock.release()
        raise
    write_lock = threading.Lock()  # one writer at a time across the bot, the jobs and the API
    linker = PageLinker(service, BotStore.open(config.database.url), settings)
    api = None if no_api else create_api(service, token=api_token(config, token_env, os.environ), write_lock=write_lock,
                                         telegram=telegram_auth(config, os.environ, linker))  # fmt: skip
    runtime = BotRuntime(settings, service, db_url=config.database.url, http_app=api, http_socket=sock,
                         write_lock=write_lock, webhook=webhook, leader_lock=leader_lock)  # fmt: skip
    linker.refresh = runtime.announce_soon
    url = "http://{}:{}".format(*sock.getsockname()[:2]) if sock is not None else None
    summary: dict[str, object] = {
        "http": url,
        "api": not no_api,
        "updates": "webhook" if webhook else "long polling",
        "rpc": ", ".join(redact_url(url) for url in overrides.endpoints(config)),
        "telegram": redact_url(settings.base_url),
        "chats": sorted(settings.allowed_chats),
        "executor": service.executor_address(),
        "replicas": "elected leader" if leader_lock.elects else "single",
    }
    if json_output:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"run: bot ({summary['updates']}, {len(settings.allowed_chats)} chat(s)) via {summary['telegram']}; "
                   f"HTTP {url or 'off'}; RPC {summary['rpc']}; executor {summary['executor'] or 'none'}",
                   err=True)  # fmt: skip
    try:
        asyncio.run(run_until_signalled(runtime))
    except InvalidToken:
        raise ConfigError(f"Telegram refused the bot token (telegram.token or ${config.telegram.token_env})") from None
    except BadRequest as exc:  # e.g. setWebhook with a URL Telegram will not use
        raise ConfigError(f"Telegram refused the bot's setup: {exc.message}") from None
    except NetworkError:
        raise Unavailable(f"the Telegram Bot API at {redact_url(settings.base_url)} is unreachable") from None
    finally:
        if sock is not None:
            sock.close()
        linker.store.close()
        service.close()
        leader_lock.release()
