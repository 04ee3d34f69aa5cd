"""The bot's own tables: announcement messages, owner links, link challenges, drift alerts, updates, owed edits.

They live in the governance database next to the core's tables, migrated by the bot's own
Alembic revisions (bot/migrations, version table `bot_alembic_version`), so the core's schema
stays free of Telegram concepts. Rows never leave this module: callers get frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from eth_typing import ChecksumAddress
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from web3 import Web3

from proposals.clock import Clock, utc_now
from proposals.store.engine import make_engine
from proposals.store.tables import NAMING_CONVENTION, UtcDateTime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "bot_alembic_version"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

announcements = Table(
    "bot_announcements",
    metadata,
    Column("proposal_id", Integer, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    # sha256 of the last text + keyboard sent, so an unchanged view costs no API call.
    Column("digest", String(64), nullable=False),
    # The last outcome posted as a reply ("executed", "failed:<when>"), so it is posted once.
    Column("outcome", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

links = Table(
    "bot_links",
    metadata,
    Column("owner", String(42), primary_key=True),
    Column("user_id", BigInteger, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("linked_at", UtcDateTime, nullable=False),
)

challenges = Table(
    "bot_link_challenges",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner", String(42), primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

drift_alerts = Table(
    "bot_drift_alerts",
    metadata,
    Column("kms", String(42), primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    # sha256 of the alert text last sent, so an unchanged drift costs no API call.
    Column("digest", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Replicas (bot.leadership): every update Telegram handed over, so a new leader neither loses one nor handles it
# twice, and the long-polling offset is max(update_id) + 1.
updates = Table(
    "bot_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("handled_at", UtcDateTime, nullable=True),
)

# The announcement edits owed: marked by whichever replica changed a proposal, cleared by the leader once the
# message shows the change (`version` tells a change made during the edit from the one the edit showed).
stale_messages = Table(
    "bot_stale_messages",
    metadata,
    Column("proposal_id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("marked_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class Announcement:
    """Where a proposal's one message lives, and what it last showed."""

    proposal_id: int
    chat_id: int
    message_id: int
    digest: str
    outcome: str


@dataclass(frozen=True)
class Link:
    """A Telegram user proven to hold an owner key."""

    owner: ChecksumAddress
    user_id: int
    name: str
    linked_at: datetime


@dataclass(frozen=True)
class Challenge:
    """The text a user must sign with an owner key to link it."""

    user_id: int
    owner: ChecksumAddress
    chat_id: int
    text: str
    expires_at: datetime


@dataclass(frozen=True)
class DriftAlert:
    """The one message that reports a KMS's current drift."""

    kms: str
    chat_id: int
    message_id: int
    digest: str


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def migrate_bot(engine: Engine) -> None:
    """Bring the bot's tables to the newest revision (a no-op when current)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class BotStore:
    """Reads and writes the bot's tables (thread-safe: one short transaction per call)."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    def open(cls, url: str, *, clock: Clock = utc_now) -> BotStore:
        """Open the database at `url` and migrate the bot's tables; `clock` stamps the rows (the service's)."""
        engine = make_engine(url)
        try:
            migrate_bot(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    def close(self) -> None:
        """Close pooled connections."""
        self._engine.dispose()

    # -- announcements ---------------------------------------------------------------------

    def announcement(self, proposal_id: int) -> Announcement | None:
        """Return where proposal `proposal_id` was announced, if it was."""
        with self._engine.connect() as connection:
            row = connection.execute(select(announcements).where(announcements.c.proposal_id == proposal_id)).first()
        if row is None:
            return None
        return Announcement(row.proposal_id, row.chat_id, row.message_id, row.digest, row.outcome)

    def announcement_chats(self, proposal_ids: list[int]) -> dict[int, int]:
        """Return the chat of each of `proposal_ids` that has an announcement."""
        if not proposal_ids:
            return {}
        query = select(announcements.c.proposal_id, announcements.c.chat_id).where(
            announcements.c.proposal_id.in_(proposal_ids)
        )
        with self._engine.connect() as connection:
            return {proposal_id: chat_id for proposal_id, chat_id in connection.execute(query)}

    def save_announcement(self, proposal_id: int, chat_id: int, message_id: int, digest: str) -> None:
        """Record a new announcement message (replacing a lost one)."""
        now = self._clock()
        with self._engine.begin() as connection:
            connection.execute(delete(announcements).where(announcements.c.proposal_id == proposal_id))
            connection.execute(
                insert(announcements).values(proposal_id=proposal_id, chat_id=chat_id, message_id=message_id,
                                             digest=digest, outcome="", created_at=now, updated_at=now)
            )  # fmt: skip

    def update_announcement(self, proposal_id: int, *, digest: str | None = None, outcome: str | None = None) -> None:
        """Remember what the message now shows, or which outcome was posted."""
        values: dict[str, object] = {"updated_at": self._clock()}
        if digest is not None:
            values["digest"] = digest
        if outcome is not None:
            values["outcome"] = outcome
        with self._engine.begin() as connection:
            connection.execute(update(announcements).where(announcements.c.proposal_id == proposal_id).values(values))

    # -- links -----------------------------------------------------------------------------

    def links(self) -> dict[str, Link]:
        """Return every link, keyed by lowercase owner address."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(links)).all()
        return {
            row.owner.lower(): Link(Web3.to_checksum_address(row.owner), row.user_id, row.name, _aware(row.linked_at))
            for row in rows
        }

    def save_link(self, owner: ChecksumAddress, user_id: int, name: str) -> None:
        """Bind `owner` to a Telegram user (an owner has one user; a new proof replaces the old one)."""
        owner = Web3.to_checksum_address(owner)
        with self._engine.begin() as connection:
            connection.execute(delete(links).where(links.c.owner == owner))
            connection.execute(insert(links).values(owner=owner, user_id=user_id, name=name[:200],
                                                    linked_at=self._clock()))  # fmt: skip

    # -- challenges ------------------------------------------------------------------------

    def save_challenge(self, challenge: Challenge) -> None:
        """Store the challenge a user must sign (one per user and owner; a new one replaces it)."""
        key = (challenges.c.user_id == challenge.user_id) & (challenges.c.owner == challenge.owner)
        with self._engine.begin() as connection:
            connection.execute(delete(challenges).where(key))
            connection.execute(
                insert(challenges).values(user_id=challenge.user_id, owner=challenge.owner, chat_id=challenge.chat_id,
                                          text=challenge.text, expires_at=challenge.expires_at)
            )  # fmt: skip

    def challenge(self, user_id: int, owner: ChecksumAddress) -> Challenge | None:
        """Return the user's pending challenge for `owner`, if any."""
        key = (challenges.c.user_id == user_id) & (challenges.c.owner == owner)
        with self._engine.connect() as connection:
            row = connection.execute(select(challenges).where(key)).first()
        if row is None:
            return None
        return Challenge(row.user_id, Web3.to_checksum_address(row.owner), row.chat_id, row.text,
                         _aware(row.expires_at))  # fmt: skip

    def drop_challenge(self, user_id: int, owner: ChecksumAddress) -> None:
        """Forget a used or expired challenge."""
        key = (challenges.c.user_id == user_id) & (challenges.c.owner == owner)
        with self._engine.begin() as connection:
            connection.execute(delete(challenges).where(key))

    # -- drift alerts ----------------------------------------------------------------------

    def drift_alert(self, kms: str) -> DriftAlert | None:
        """Return the open drift alert of `kms`, if any."""
        with self._engine.connect() as connection:
            row = connection.execute(select(drift_alerts).where(drift_alerts.c.kms == kms)).first()
        return None if row is None else DriftAlert(row.kms, row.chat_id, row.message_id, row.digest)

    def save_drift_alert(self, alert: DriftAlert) -> None:
        """Record the alert message of `alert.kms` and what it shows (replacing the previous record)."""
        with self._engine.begin() as connection:
            connection.execute(delete(drift_alerts).where(drift_alerts.c.kms == alert.kms))
            connection.execute(insert(drift_alerts).values(kms=alert.kms, chat_id=alert.chat_id,
                                                           message_id=alert.message_id, digest=alert.digest,
                                                           updated_at=self._clock()))  # fmt: skip

    def drop_drift_alert(self, kms: str) -> None:
        """Forget the alert of `kms` (the drift ended: the next one gets a new message)."""
        with self._engine.begin() as connection:
            connection.execute(delete(drift_alerts).where(drift_alerts.c.kms == kms))

    # -- updates (replicas) ----------------------------------------------------------------

    def record_update(self, update_id: int, payload: str) -> bool:
        """Keep an update Telegram handed over; return False when some replica has it already."""
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(updates).values(update_id=update_id, payload=payload,
                                                          received_at=self._clock()))  # fmt: skip
        except IntegrityError:
            return False
        return True

    def next_update_offset(self) -> int | None:
        """Return the getUpdates offset after every update kept (None before the first)."""
        with self._engine.connect() as connection:
            newest = connection.execute(select(func.max(updates.c.update_id))).scalar()
        return None if newest is None else int(newest) + 1

    def unstarted_updates(self, limit: int = 100) -> list[tuple[int, str]]:
        """Return kept updates nobody has started handling, oldest first."""
        query = select(updates.c.update_id, updates.c.payload).where(updates.c.started_at.is_(None))
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(updates.c.update_id).limit(limit)).all()
        return [(int(row.update_id), str(row.payload)) for row in rows]

    def start_update(self, update_id: int) -> bool:
        """Claim an update for handling; False when it was claimed already (compare-and-set)."""
        claim = update(updates).where((updates.c.update_id == update_id) & updates.c.started_at.is_(None))
        with self._engine.begin() as connection:
            return connection.execute(claim.values(started_at=self._clock())).rowcount == 1

    def finish_update(self, update_id: int) -> None:
        """Note that an update was handled."""
        with self._engine.begin() as connection:
            connection.execute(update(updates).where(updates.c.update_id == update_id)
                               .values(handled_at=self._clock()))  # fmt: skip

    def abandon_interrupted_updates(self) -> list[int]:
        """Close the updates a dead leader started and never finished; return their ids (they are not replayed)."""
        interrupted = updates.c.started_at.is_not(None) & updates.c.handled_at.is_(None)
        with self._engine.begin() as connection:
            ids = [int(i) for i in connection.execute(select(updates.c.update_id).where(interrupted)).scalars()]
            if ids:
                connection.execute(update(updates).where(updates.c.update_id.in_(ids)).values(handled_at=self._clock()))
        return ids

    def prune_updates(self, before: datetime) -> None:
        """Forget updates handled before `before`, keeping the newest (it carries the polling offset)."""
        with self._engine.begin() as connection:
            newest = connection.execute(select(func.max(updates.c.update_id))).scalar()
            if newest is not None:
                connection.execute(delete(updates).where((updates.c.handled_at < before)
                                                         & (updates.c.update_id < newest)))  # fmt: skip

    # -- owed announcement edits (replicas) ------------------------------------------------

    def mark_stale(self, proposal_id: int) -> None:
        """Note that proposal `proposal_id`'s message owes an edit (any replica, after any change)."""
        now = self._clock()
        bump = update(stale_messages).where(stale_messages.c.proposal_id == proposal_id)
        bump = bump.values(version=stale_messages.c.version + 1, marked_at=now)
        for _ in range(3):  # two replicas may insert the first mark at once: the loser bumps instead
            with self._engine.begin() as connection:
                if connection.execute(bump).rowcount:
                    return
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(stale_messages).values(proposal_id=proposal_id, version=1, marked_at=now))
                return
            except IntegrityError:
                continue

    def stale_messages(self, limit: int = 200) -> list[tuple[int, int]]:
        """Return (proposal id, version) of the messages that owe an edit, oldest mark first."""
        query = select(stale_messages.c.proposal_id, stale_messages.c.version).order_by(stale_messages.c.marked_at)
        with self._engine.connect() as connection:
            return [(int(p), int(v)) for p, v in connection.execute(query.limit(limit))]

    def clear_stale(self, proposal_id: int, version: int) -> None:
        """Settle an owed edit, unless the proposal changed again since `version` was read."""
        key = (stale_messages.c.proposal_id == proposal_id) & (stale_messages.c.version == version)
        with self._engine.begin() as connection:
            connection.execute(delete(stale_messages).where(key))
