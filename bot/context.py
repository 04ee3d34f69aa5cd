"""The typed handler context: every handler reaches the bot's services through `context.gov`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram.ext import Application, CallbackContext, ExtBot

from bot.announcer import Announcer
from bot.core import Core
from bot.outbox import Outbox
from bot.settings import BotSettings
from bot.store import BotStore
from proposals.service import GovernanceService

SERVICES_KEY = "gov"


@dataclass(frozen=True)
class Services:
    """What handlers use: the core (off the loop), the bot's tables, the outbox, the announcer, the settings."""

    core: Core
    bot_store: BotStore
    outbox: Outbox
    announcer: Announcer
    settings: BotSettings

    @property
    def service(self) -> GovernanceService:
        """Return the governance service (call it through `core`, never directly on the loop)."""
        return self.core.service


class GovContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with the bot's services."""

    @property
    def gov(self) -> Services:
        """Return the services registered by build_application."""
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services


GovApplication: TypeAlias = Application[ExtBot[None], GovContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], None]
