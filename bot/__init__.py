"""The Telegram front end and the scheduler: announce proposals, collect signatures, remind, execute.

    runtime = BotRuntime(settings, service, db_url=url, http_app=api, http_socket=sock)
    await run_until_signalled(runtime)

The bot only calls the governance core (proposals.service); it never bypasses it.
"""

from __future__ import annotations

from .app import build_application
from .runner import BotRuntime, run_until_signalled
from .settings import BotSettings, Roles

__all__ = ["BotRuntime", "BotSettings", "Roles", "build_application", "run_until_signalled"]
