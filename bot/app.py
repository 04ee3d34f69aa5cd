"""The one place that builds the Application and registers every handler."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.announcer import AfterSync, Announcer
from bot.callbacks import is_current
from bot.commands import COMMANDS
from bot.context import SERVICES_KEY, GovApplication, GovContext, Services
from bot.core import Core
from bot.handlers.buttons import on_button, on_stale_button
from bot.handlers.errors import on_error
from bot.handlers.gate import on_gate
from bot.handlers.linking import on_link
from bot.handlers.policy import PLAN_CAPTION, is_policy_button, on_drift, on_plan, on_plan_file, on_policy_button
from bot.handlers.proposing import on_cancel, on_proposal_file, on_propose
from bot.handlers.reading import on_help, on_owners, on_pending, on_policy, on_status
from bot.handlers.signing import on_sign, on_typeddata
from bot.outbox import Outbox
from bot.settings import BotSettings
from bot.store import BotStore

# Updates are handled concurrently (a signature that executes must not hold up /pending);
# the core's writes still go one at a time (bot.core).
CONCURRENT_UPDATES = 8
ALLOWED_UPDATES = ("message", "callback_query")


def bot_commands() -> list[BotCommand]:
    """Return the command menu Telegram shows (setMyCommands)."""
    return [BotCommand(name, summary[:256]) for name, _, summary in COMMANDS]


def build_application(
    settings: BotSettings,
    core: Core,
    bot_store: BotStore,
    *,
    after_sync: AfterSync | None = None,
    webhook: bool = False,
) -> GovApplication:
    """Build the bot: the real PTB client pointed at `settings.base_url`, every handler, one error handler."""
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(ContextTypes(context=GovContext))
        .concurrent_updates(CONCURRENT_UPDATES)
        .job_queue(None)  # APScheduler with a persistent job store runs the jobs (bot.jobs)
        .get_updates_read_timeout(settings.polling_timeout + 10)
    )
    # Updates arrive through bot.intake (kept in the database first), never through PTB's Updater.
    builder = builder.updater(None)
    application: GovApplication = builder.build()  # type: ignore[assignment]
    outbox = Outbox(application.bot, first_backoff=settings.network_backoff)
    announcer = Announcer(core, bot_store, outbox, settings, after_sync=after_sync)
    application.bot_data[SERVICES_KEY] = Services(core, bot_store, outbox, announcer, settings)

    application.add_handler(TypeHandler(Update, on_gate), group=-1)
    messages = filters.UpdateType.MESSAGE
    for name, handler in (
        ("start", on_help), ("help", on_help), ("propose", on_propose), ("pending", on_pending),
        ("status", on_status), ("typeddata", on_typeddata), ("sign", on_sign), ("cancel", on_cancel),
        ("policy", on_policy), ("owners", on_owners), ("link", on_link), ("plan", on_plan), ("drift", on_drift),
    ):  # fmt: skip
        application.add_handler(CommandHandler(name, handler, filters=messages))
    plan_files = filters.Document.ALL & filters.CaptionRegex(PLAN_CAPTION)  # before proposal files: first match wins
    application.add_handler(MessageHandler(messages & plan_files, on_plan_file))
    application.add_handler(MessageHandler(messages & filters.Document.ALL, on_proposal_file))
    application.add_handler(CallbackQueryHandler(on_policy_button, pattern=is_policy_button))
    application.add_handler(CallbackQueryHandler(on_button, pattern=is_current))
    application.add_handler(CallbackQueryHandler(on_stale_button))
    application.add_error_handler(on_error)
    return application


def services_of(application: GovApplication) -> Services:
    """Return the services build_application registered."""
    services: Services = application.bot_data[SERVICES_KEY]
    return services
