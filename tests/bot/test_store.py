"""The bot's tables and job store, on SQLite and PostgreSQL: migrations, round trips, restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import inspect
from web3 import Web3

from bot import jobs
from bot.runner import JOBS_TABLE
from bot.store import MIGRATIONS, VERSION_TABLE, BotStore, Challenge, DriftAlert, metadata, migrate_bot
from proposals.store import open_store
from proposals.store.engine import make_engine
from tests.helpers.postgres import fresh_database, require_postgres

OWNER = Web3.to_checksum_address("0x" + "ab" * 20)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return an empty database with the core's schema: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
        open_store(url).close()
        yield url
        return
    with fresh_database(require_postgres(), prefix="bot") as url:
        open_store(url).close()
        yield url


def test_bot_migrations_build_the_declared_tables_beside_the_core(db_url):
    BotStore.open(db_url).close()
    BotStore.open(db_url).close()  # a second start finds nothing to do
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            only_ours = {"include_name": lambda name, kind, _parent: kind != "table" or name.startswith("bot_")}
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True, **only_ours}
            )
            assert context.get_current_revision() == "b0003"
            assert compare_metadata(context, metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert {"bot_announcements", "bot_links", "bot_link_challenges", "bot_drift_alerts", "bot_updates",
                "bot_stale_messages", VERSION_TABLE, "proposals"} <= tables  # fmt: skip
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert not {"bot_announcements", "bot_links"} & set(inspect(engine).get_table_names())
        assert "proposals" in set(inspect(engine).get_table_names())
        migrate_bot(engine)
    finally:
        engine.dispose()


def test_bot_rows_round_trip(db_url):
    store = BotStore.open(db_url)
    try:
        store.save_announcement(7, -100, 42, "d1")
        store.update_announcement(7, outcome="executed")
        row = store.announcement(7)
        assert row is not None and (row.chat_id, row.message_id, row.digest, row.outcome) == (
            -100,
            42,
            "d1",
            "executed",
        )
        store.save_announcement(7, -100, 43, "d2")  # the message was lost and announced again
        assert store.announcement(7).message_id == 43 and store.announcement_chats([7, 8]) == {7: -100}  # type: ignore[union-attr]
        store.save_link(OWNER, 5, "first")
        store.save_link(Web3.to_checksum_address(OWNER.lower()), 6, "second")
        assert [(link.user_id, link.name) for link in store.links().values()] == [(6, "second")]
        expires = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        store.save_challenge(Challenge(6, OWNER, -100, "sign me", expires))
        challenge = store.challenge(6, OWNER)
        assert challenge is not None and challenge.expires_at == expires and challenge.text == "sign me"
        store.drop_challenge(6, OWNER)
        assert store.challenge(6, OWNER) is None
    finally:
        store.close()


def test_stored_jobs_survive_a_new_scheduler(db_url):
    def scheduler() -> BackgroundScheduler:
        store = SQLAlchemyJobStore(engine=make_engine(db_url), tablename=JOBS_TABLE)
        return BackgroundScheduler(jobstores={"default": store}, timezone=UTC)

    first = scheduler()
    first.start(paused=True)
    first.add_job(jobs.remind, "interval", seconds=60, args=(7,), id="remind:7")
    first.add_job(jobs.expire_due, "date", run_date=datetime.now(UTC) + timedelta(days=1), id="expire:7")
    first.shutdown()
    second = scheduler()
    second.start(paused=True)
    try:
        remind = second.get_job("remind:7")
        assert remind is not None and remind.func is jobs.remind and remind.args == (7,)
        assert second.get_job("expire:7") is not None
    finally:
        second.shutdown()


def test_drift_alert_rows_round_trip(db_url):
    store = BotStore.open(db_url)
    try:
        kms = "0x" + "ab" * 20
        assert store.drift_alert(kms) is None
        store.save_drift_alert(DriftAlert(kms, -100, 7, "a" * 64))
        store.save_drift_alert(DriftAlert(kms, -100, 7, "b" * 64))  # the same alert, edited: one row
        assert store.drift_alert(kms) == DriftAlert(kms, -100, 7, "b" * 64)
        store.drop_drift_alert(kms)
        assert store.drift_alert(kms) is None
    finally:
        store.close()
