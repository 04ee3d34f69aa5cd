"""`dstack-gov run`: the bot, the scheduler and the HTTP API in one asyncio process.

Start order: the bot's tables, the core bridge, the bot (getMe, commands menu), the scheduler
(jobs from the database), update intake (long polling, or the webhook route), the HTTP server.
SIGTERM/SIGINT stop intake first, let running handlers, jobs and requests finish, flush pending
message edits, and only then close connections: nothing accepted is dropped.

Replicas (a leader lock that `elects`, PostgreSQL): every replica serves HTTP at once; the bot, the
scheduler, update intake and the executor key start only on the replica that wins the lock
(bot.leadership). Followers keep webhook updates and mark owed edits in the database for the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from types import TracebackType

import uvicorn
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.types import ASGIApp
from telegram.error import TelegramError

from bot import jobs
from bot.app import ALLOWED_UPDATES, CONCURRENT_UPDATES, bot_commands, build_application, services_of
from bot.context import GovApplication
from bot.core import Core
from bot.intake import UpdateIntake
from bot.leadership import Campaign, LeaderLock
from bot.notifier import Notifier
from bot.owed_edits import OwedEdits, mark_listener
from bot.redact import install_redaction
from bot.settings import BotSettings
from bot.snapshot import Snapshot
from bot.store import BotStore
from bot.webhook import webhook_path, webhook_routes, webhook_secret
from foundation.health import set_leader
from foundation.serving import server_config
from proposals.errors import Unavailable
from proposals.service import GovernanceService
from proposals.store.engine import make_engine

log = logging.getLogger(__name__)
JOBS_TABLE = "bot_scheduler_jobs"
STOP_TIMEOUT = 30.0


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop; the runner, not uvicorn, owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_scheduler(db_url: str) -> AsyncIOScheduler:
    """Return the scheduler, its jobs stored in the governance database (their own table)."""
    store = SQLAlchemyJobStore(engine=make_engine(db_url), tablename=JOBS_TABLE)
    return AsyncIOScheduler(
        jobstores={"default": store},
        executors={"default": AsyncIOExecutor()},
        # After downtime a missed run happens once, late rather than never. Jobs guard themselves
        # against overlapping passes, so a slow pass does not make the scheduler warn at every tick.
        job_defaults={"coalesce": True, "max_instances": 3, "misfire_grace_time": None},
        timezone=UTC,
    )


class BotRuntime:
    """Everything `run` starts; usable as `async with BotRuntime(...)` in tests."""

    def __init__(
        self,
        settings: BotSettings,
        service: GovernanceService,
        *,
        db_url: str,
        http_app: ASGIApp | None = None,
        http_socket: socket.socket | None = None,
        write_lock: threading.Lock | None = None,
        webhook: bool = False,
        leader_lock: LeaderLock | None = None,
    ) -> None:
        if webhook and not settings.webhook_url:
            raise ValueError("webhook mode needs telegram.webhook_url")
        if webhook and http_socket is None:
            raise ValueError("webhook mode needs the HTTP server's socket")
        self.settings = settings
        self.service = service
        self.db_url = db_url
        self.http_app = http_app
        self.http_socket = http_socket
        self.webhook = webhook
        self.core = Core(service, write_lock=write_lock)
        self.scheduler = make_scheduler(db_url)
        self.bot_store: BotStore | None = None
        self.application: GovApplication | None = None
        self.host: jobs.JobHost | None = None
        self._notifier: Notifier | None = None
        self._http: EmbeddedServer | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._unredact: Callable[[], None] | None = None
        self.leader_lock = leader_lock
        if leader_lock is not None and leader_lock.elects:
            service.stand_by()  # followers never execute: the executor key has one account nonce
        self.intake: UpdateIntake | None = None
        self.leading = False
        # Why this replica stopped leading (or could not start to): `run` stops, and says so.
        self.ended: BaseException | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def _after_sync(self, snapshot: Snapshot) -> None:
        await self.core.run(jobs.sync_jobs, self.scheduler, self.settings, snapshot, self.service.clock())

    async def start(self) -> None:
        """Start the HTTP server, and (at once, or once this replica wins the lock) the bot and the scheduler."""
        self._unredact = install_redaction([self.settings.token])  # PTB logs its URLs, token included
        self.bot_store = await asyncio.to_thread(BotStore.open, self.db_url, clock=self.service.clock)
        application = build_application(self.settings, self.core, self.bot_store, after_sync=self._after_sync,
                                        webhook=self.webhook)  # fmt: skip
        self.application = application
        self.intake = UpdateIntake(application, self.core, self.bot_store, services_of(application).outbox,
                                   allowed_updates=ALLOWED_UPDATES, polling_timeout=self.settings.polling_timeout,
                                   network_backoff=self.settings.network_backoff,
                                   concurrency=CONCURRENT_UPDATES)  # fmt: skip
        self.service.subscribe(mark_listener(self.bot_store))
        if self.leader_lock is None or not self.leader_lock.elects:
            await self._lead(application)
            await self._start_http(application)
            return
        set_leader(False)  # /readyz and /metrics: a follower until the campaign wins
        await self._start_http(application)
        self._tasks.append(asyncio.create_task(self._campaign(application), name="campaign"))
        log.info("follower: serving HTTP; waiting to lead (the bot, the jobs and executions run on the leader)")

    async def _campaign(self, application: GovApplication) -> None:
        assert self.leader_lock is not None
        campaign = Campaign(self.leader_lock)
        await campaign.win()
        set_leader(True)
        log.warning("this replica now leads: starting the bot, the scheduler and the executor")
        try:
            await self._lead(application)
        except Exception as exc:  # noqa: BLE001 - re-raised by run_until_signalled once everything stopped
            self.service.stand_by()
            self.ended = exc
            return
        why = await campaign.hold()
        self.service.stand_by()  # first of all: a deposed leader sends nothing more
        set_leader(False)
        log.error("lost the leadership: %s; stopping", why)
        self.ended = Unavailable(f"this replica lost the leadership ({why}); restart it to rejoin as a follower")

    async def _lead(self, application: GovApplication) -> None:
        """Start the bot, the scheduler, update intake and the executor."""
        self.leading = True
        self.service.take_over()
        services = services_of(application)
        self._notifier = Notifier(asyncio.get_running_loop(), lambda pid, _event: services.announcer.request(pid))
        self.service.subscribe(self._notifier)
        await services.outbox.call("getMe", application.initialize)
        try:
            await services.outbox.call("setMyCommands", lambda: application.bot.set_my_commands(bot_commands()))
        except TelegramError as exc:  # the menu is a nicety; the commands work without it
            log.warning("could not set the command menu: %s", exc)
        await application.start()
        self.host = jobs.JobHost(self.core, services.announcer, services.outbox, services.bot_store, self.settings,
                                 self.scheduler)  # fmt: skip
        jobs.install(self.host)
        self.scheduler.start()
        await self.core.run(jobs.schedule_recurring, self.scheduler, self.settings)
        await self._start_intake(application)
        self._tasks.append(asyncio.create_task(OwedEdits(self.core, services.bot_store, services.announcer).run(),
                                               name="owed-edits"))  # fmt: skip
        log.info("bot running (%s), %d chat(s)", "webhook" if self.webhook else "long polling",
                 len(self.settings.allowed_chats))  # fmt: skip

    async def _start_intake(self, application: GovApplication) -> None:
        outbox = services_of(application).outbox
        if self.webhook:
            assert self.settings.webhook_url is not None
            await outbox.call("setWebhook", lambda: application.bot.set_webhook(
                self.settings.webhook_url or "", secret_token=webhook_secret(self.settings.token),
                allowed_updates=list(ALLOWED_UPDATES),
            ))  # fmt: skip
        assert self.intake is not None
        await self.intake.start(polling=not self.webhook)

    async def _start_http(self, application: GovApplication) -> None:
        if self.http_socket is None:
            return
        app = self.http_app
        if self.webhook:
            path = webhook_path(self.settings.webhook_url or "")
            assert self.intake is not None
            app = webhook_routes(application, path, webhook_secret(self.settings.token), app, self.intake.receive)
        if app is None:
            return
        self._http = EmbeddedServer(server_config(app, lifespan="off"))
        self._http_task = asyncio.create_task(self._http.serve(sockets=[self.http_socket]), name="http")
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)

    def announce_soon(self, proposal_id: int) -> None:
        """Bring a proposal's announcement up to date soon; callable from any thread (the API's workers)."""
        if self._notifier is not None:
            self._notifier(proposal_id, "refresh")

    @property
    def http_failed(self) -> bool:
        """Return True when the HTTP server task ended on its own, or this replica stopped leading."""
        return (self._http_task is not None and self._http_task.done()) or self.ended is not None

    async def stop(self) -> None:
        """Stop gracefully: intake first, then let work in flight finish, then close."""
        application = self.application
        for task in self._tasks:  # the campaign (a follower stops waiting) and the owed-edits loop
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.intake is not None:
            await self.intake.stop(STOP_TIMEOUT)
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, STOP_TIMEOUT)
        if self.scheduler.running:
            self.scheduler.pause()
        if self.host is not None:
            await self.host.wait_idle(STOP_TIMEOUT)
        if application is not None and application.running:
            await application.stop()
        if application is not None:
            await services_of(application).announcer.drain(STOP_TIMEOUT)
        if self._notifier is not None:
            self._notifier.close()
        await self.core.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.host is not None:
            jobs.uninstall(self.host)
        if application is not None:
            await application.shutdown()
        if self.bot_store is not None:
            self.bot_store.close()
        if self.leader_lock is not None:
            await asyncio.to_thread(self.leader_lock.release)  # a graceful leader hands over at once
        if self._unredact is not None:
            self._unredact()
            self._unredact = None

    async def __aenter__(self) -> BotRuntime:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def run_until_signalled(runtime: BotRuntime) -> None:
    """Run until SIGTERM or SIGINT (or the HTTP server dies), then stop gracefully."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    handled = (signal.SIGTERM, signal.SIGINT)
    for sig in handled:
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with runtime:
            while not stopping.is_set() and not runtime.http_failed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), 1.0)
            log.info("stopping: finishing work in flight")
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    if runtime.ended is not None:
        raise runtime.ended
