"""The drift watcher: one alert message per drift in the KMS owner's chat, edited as the drift changes.

Every poll_interval the job asks the service for the KMS's drift (proposals/drift.py decides what
drifted; this module only renders). No drift and no alert: nothing is sent. A new drift: one message,
remembered in bot_drift_alerts. The same drift: nothing (its text, and so its digest, is unchanged).
A grown or shrunk drift: that message is edited, never a second one. The drift gone: the message is
edited to say so and forgotten, so a later drift gets a new message.
"""

from __future__ import annotations

import hashlib
import logging

from bot import jobs
from bot.core import Core
from bot.markup import code, esc
from bot.outbox import Edit, Outbox
from bot.settings import BotSettings
from bot.store import BotStore, DriftAlert
from proposals.drift import DriftItem, DriftReport
from proposals.errors import InvalidInput

log = logging.getLogger(__name__)
MAX_ITEMS_SHOWN = 20


def _tx(settings: BotSettings, item: DriftItem) -> str:
    if item.tx_hash is None:
        return "no transaction (never set on chain)"
    tx = "0x" + item.tx_hash.hex()
    shown = code(tx[:18] + "…")
    if settings.explorer_tx_url:
        shown = f'<a href="{esc(settings.explorer_tx_url.format(hash=tx))}">{tx[:18]}…</a>'
    return f"block {item.block}, tx {shown}"


def item_lines(report: DriftReport, settings: BotSettings, items: list[DriftItem] | None = None) -> list[str]:
    """Return one bullet per drifted item: what differs, and the block and transaction that caused it."""
    shown = list(report.items if items is None else items)
    lines = []
    for item in shown[:MAX_ITEMS_SHOWN]:
        origin = f"through dstack-gov ({esc(item.via)})" if item.via else "<b>outside dstack-gov</b>"
        lines.append(f"• {esc(item.describe())}\n  {_tx(settings, item)}, {origin}")
    if len(shown) > MAX_ITEMS_SHOWN:
        lines.append(f"… and {len(shown) - MAX_ITEMS_SHOWN} more (/drift, or dstack-gov policy drift)")
    return lines


def _against(report: DriftReport) -> str:
    if report.applied is None:
        return f"no policy file applied; changes since block {report.since_block}"
    return f"applied policy #{report.applied.id} ({esc(report.applied.source)})"


def drift_text(report: DriftReport, settings: BotSettings) -> str:
    """Return the alert: the KMS, what it is compared with, and each drifted item (no block height: it is stable)."""
    head = (f"⚠️ <b>Policy drift</b> on KMS {code(report.kms)}: {len(report.items)} item(s) differ "
            f"({_against(report)})")  # fmt: skip
    return "\n".join([head, *item_lines(report, settings)])


def resolved_text(report: DriftReport) -> str:
    """Return the alert's final text once the drift is gone."""
    return f"✅ <b>Policy drift resolved</b> on KMS {code(report.kms)} (block {report.block}, {_against(report)})."


def alert_chat(settings: BotSettings, report: DriftReport) -> int | None:
    """Return the chat of the Safe that owns the KMS, else the first configured chat."""
    chat = settings.chat_for(report.kms_owner)
    if chat is None:
        chat = next((settings.chat_for(safe) for safe in sorted(settings.chats)), None)
    return chat


async def check_drift(core: Core, bot_store: BotStore, outbox: Outbox, settings: BotSettings) -> None:
    """Post, edit or close the KMS's drift alert to match the drift now."""
    try:
        report = await core.run(core.service.policy_drift)
    except InvalidInput:
        return  # no KMS configured: nothing to watch
    alert = await core.run(bot_store.drift_alert, report.kms)
    if not report.drifted:
        if alert is not None:
            await outbox.edit(alert.chat_id, alert.message_id, resolved_text(report), None)
            await core.run(bot_store.drop_drift_alert, report.kms)
        return
    text = drift_text(report, settings)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if alert is not None and alert.digest == digest:
        return
    if alert is not None and await outbox.edit(alert.chat_id, alert.message_id, text, None) is not Edit.GONE:
        await core.run(bot_store.save_drift_alert, DriftAlert(report.kms, alert.chat_id, alert.message_id, digest))
        return
    chat = alert.chat_id if alert is not None else alert_chat(settings, report)
    if chat is None:
        return
    message = await outbox.send(chat, text)
    await core.run(bot_store.save_drift_alert, DriftAlert(report.kms, chat, message.message_id, digest))


async def watch_drift() -> None:
    """The scheduled drift check (module-level: the job store keeps a reference to it)."""
    async with jobs._job("watch-drift") as host:
        if host is None:
            return
        await check_drift(host.core, host.bot_store, host.outbox, host.settings)
