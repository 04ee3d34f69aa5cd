"""Scheduled jobs: the chain watcher, reminders, expiry and execution retries.

APScheduler keeps the jobs in the governance database (SQLAlchemyJobStore), so they survive a
restart. A stored job names a module-level function and plain arguments; the running bot
registers itself here with `install()` and the functions find it through `current_host()`
(one bot per process).

    watch-chain        every poll_interval: reconcile with the chain (approveHash, executions
                       elsewhere, nonce moves, owner changes, stuck executions), sync with the Safe
                       Transaction Service when configured, then bring the chat in line with the
                       store (changes made by other processes included)
    retry-executions   every retry_interval: execute again failed proposals whose nonce is free
    remind:<id>        every reminder_interval while below quorum: mention missing owners
    expire:<id>        once, at the proposal's expiry
    watch-drift        every poll_interval: the KMS's policy drift alert (bot.drift_alerts)
    watch-executor     every poll_interval: the executor's low-balance warning (bot.executor_alerts)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler

from bot.announcer import Announcer
from bot.core import Core
from bot.outbox import Outbox
from bot.render import reminder_text
from bot.settings import BotSettings
from bot.snapshot import Snapshot, load_snapshot
from bot.store import BotStore
from proposals.errors import ActionsMismatch, NotFound
from proposals.models import OPEN_STATES, ProposalState
from proposals.service import GovernanceService

log = logging.getLogger(__name__)
# The name under which the watcher asks the service what changed since its last look.
WATCHER = "telegram"


@dataclass
class JobHost:
    """What the stored jobs run against."""

    core: Core
    announcer: Announcer
    outbox: Outbox
    bot_store: BotStore
    settings: BotSettings
    scheduler: BaseScheduler
    running: set[asyncio.Task[object]] = field(default_factory=set)
    # Names of the jobs running now: a job still running when it is due again skips that turn.
    active: set[str] = field(default_factory=set)

    def now(self) -> datetime:
        """Return the time by the service's clock: every decision about time (reminder, expiry) uses it."""
        return self.core.service.clock()

    async def wait_idle(self, grace: float) -> None:
        """Wait up to `grace` seconds for running jobs to finish (at shutdown)."""
        if self.running:
            await asyncio.wait(list(self.running), timeout=grace)


_host: JobHost | None = None


def install(host: JobHost) -> None:
    """Make `host` the one the stored jobs run against."""
    global _host
    _host = host


def uninstall(host: JobHost) -> None:
    """Forget `host` (jobs that fire later find nothing and return)."""
    global _host
    if _host is host:
        _host = None


@asynccontextmanager
async def _job(name: str) -> AsyncIterator[JobHost | None]:
    host = _host
    task = asyncio.current_task()
    if host is None or task is None:
        log.warning("job %s ran with no bot installed; skipped", name)
        yield None
        return
    if name in host.active:
        log.debug("job %s is still running; this turn is skipped", name)
        yield None
        return
    host.running.add(task)
    host.active.add(name)
    try:
        yield host
    except Exception:  # one job's failure is logged; the schedule goes on
        log.exception("job %s failed", name)
    finally:
        host.running.discard(task)
        host.active.discard(name)


# -- the jobs (module-level: the job store keeps references to them) --------------------------


async def watch_chain() -> None:
    """Reconcile every Safe with the chain, then bring the chat in line with the store."""
    async with _job("watch-chain") as host:
        if host is None:
            return
        report = await host.core.write(host.core.service.reconcile)
        for error in report.errors:
            log.warning("reconciliation: %s", error)
        await sync_tx_service(host)
        await catch_up(host)


async def sync_tx_service(host: JobHost) -> None:
    """Sync with the Safe Transaction Service: HTTP outside the write lock, the store's changes under it."""
    service = host.core.service
    if not service.tx_service_enabled:
        return
    report = await host.core.run(service.push_tx_service)
    report.merge(await host.core.write(service.apply_tx_service, await host.core.run(service.fetch_tx_service)))
    report.merge(await host.core.run(service.push_tx_service))
    for error in report.errors:
        log.info("Safe Transaction Service: %s", error)


async def retry_executions() -> None:
    """Settle executions left executing and retry failed ones that still can run (the core decides which)."""
    async with _job("retry-executions") as host:
        if host is None:
            return
        report = await host.core.write(host.core.service.retry_executions)
        for error in report.errors:
            log.info("retrying executions: %s", error)


async def remind(proposal_id: int) -> None:
    """Mention the owners who have not signed; stop once the proposal reaches quorum or ends."""
    async with _job(f"remind:{proposal_id}") as host:
        if host is None:
            return
        try:
            snapshot = await host.core.run(load_snapshot, host.core.service, host.bot_store, proposal_id)
        except (NotFound, ActionsMismatch):  # gone, or never to be shown (the announcer said why, once)
            await host.core.run(drop_jobs, host.scheduler, proposal_id)
            return
        now = host.now()
        if not needs_reminder(snapshot, now):
            await host.core.run(sync_jobs, host.scheduler, host.settings, snapshot, now)
            return
        # Always the Safe's chat as configured now: a message left in a chat the Safe moved away from is not replied to.
        chat = host.settings.chat_for(snapshot.view.proposal.safe)
        if chat is None:
            return
        row = await host.core.run(host.bot_store.announcement, proposal_id)
        reply_to = row.message_id if row is not None and row.chat_id == chat else None
        await host.outbox.send(chat, reminder_text(snapshot), reply_to=reply_to)
        await host.core.run(host.core.service.record_reminder, proposal_id, actor="telegram",
                            missing=list(snapshot.view.missing_owners))  # fmt: skip


async def expire_due() -> None:
    """End the proposals whose time is up."""
    async with _job("expire") as host:
        if host is None:
            return
        await host.core.write(host.core.service.expire)


# -- helpers ------------------------------------------------------------------------------------


def needs_reminder(snapshot: Snapshot, now: datetime) -> bool:
    """Return True while the proposal waits for signatures and, by the service's clock, has not run out of time."""
    view = snapshot.view
    proposal = view.proposal
    if proposal.expires_at is not None and proposal.expires_at <= now:
        return False  # due for expiry, not for a reminder
    return proposal.state in (ProposalState.PENDING, ProposalState.FAILED) and view.valid_count < view.threshold


def unannounced_open(service: GovernanceService, bot_store: BotStore, settings: BotSettings) -> set[int]:
    """Return open proposals with no message in their Safe's chat (filed while the bot was away, or the Safe moved)."""
    proposals = service.list_proposals(sorted(OPEN_STATES), limit=10_000)
    wanted = {p.id: chat for p in proposals if (chat := settings.chat_for(p.safe)) is not None}
    announced = bot_store.announcement_chats(list(wanted))
    return {proposal_id for proposal_id, chat in wanted.items() if announced.get(proposal_id) != chat}


async def catch_up(host: JobHost) -> None:
    """Refresh messages of proposals changed elsewhere, and announce the ones never announced."""
    changed = await host.core.run(host.core.service.changed_since_last_look, WATCHER)
    missing = await host.core.run(unannounced_open, host.core.service, host.bot_store, host.settings)
    for proposal_id in sorted(changed | missing):
        host.announcer.request(proposal_id)


def _remove(scheduler: BaseScheduler, job_id: str) -> None:
    with suppress(JobLookupError):
        scheduler.remove_job(job_id)


def drop_jobs(scheduler: BaseScheduler, proposal_id: int) -> None:
    """Remove a proposal's reminder and expiry jobs."""
    _remove(scheduler, f"remind:{proposal_id}")
    _remove(scheduler, f"expire:{proposal_id}")


def sync_jobs(scheduler: BaseScheduler, settings: BotSettings, snapshot: Snapshot, now: datetime) -> None:
    """Keep a proposal's reminder and expiry jobs in line with its state at `now` (blocking: job store I/O)."""
    proposal = snapshot.view.proposal
    remind_id, expire_id = f"remind:{proposal.id}", f"expire:{proposal.id}"
    if needs_reminder(snapshot, now):
        if scheduler.get_job(remind_id) is None:
            scheduler.add_job(remind, "interval", seconds=settings.reminder_interval, args=(proposal.id,),
                              id=remind_id, replace_existing=True)  # fmt: skip
    else:
        _remove(scheduler, remind_id)
    if proposal.state in OPEN_STATES and proposal.expires_at is not None:
        if scheduler.get_job(expire_id) is None:
            scheduler.add_job(expire_due, "date", run_date=proposal.expires_at, id=expire_id, replace_existing=True)
    else:
        _remove(scheduler, expire_id)


def schedule_recurring(scheduler: BaseScheduler, settings: BotSettings) -> None:
    """Add (or update) the recurring jobs; the watcher also runs once right away."""
    # The scheduler's own time: "right away" for APScheduler, whatever clock the service decides by.
    now = datetime.now(UTC)
    scheduler.add_job(watch_chain, "interval", seconds=settings.poll_interval, id="watch-chain",
                      replace_existing=True, next_run_time=now)  # fmt: skip
    scheduler.add_job(retry_executions, "interval", seconds=settings.retry_interval, id="retry-executions",
                      replace_existing=True)  # fmt: skip
    from bot.drift_alerts import watch_drift  # here: that module imports this one

    scheduler.add_job(watch_drift, "interval", seconds=settings.poll_interval, id="watch-drift",
                      replace_existing=True, next_run_time=now)  # fmt: skip
    from bot.executor_alerts import watch_executor  # here: that module imports this one

    scheduler.add_job(watch_executor, "interval", seconds=settings.poll_interval, id="watch-executor",
                      replace_existing=True, next_run_time=now)  # fmt: skip
