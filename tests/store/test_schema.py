"""Migrations: they build exactly the tables the code declares, and running them again is a no-op."""

from __future__ import annotations

import inspect

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as inspect_db
from sqlalchemy import text

import proposals.store
from proposals.errors import InvalidInput
from proposals.store import migrate, open_store
from proposals.store.engine import make_engine, normalise_url
from proposals.store.schema import alembic_config, upgrade
from proposals.store.tables import Base


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrate_twice_then_schema_matches_the_tables(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == _head()
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect_db(connection).get_table_names())
            assert tables == {
                "alembic_version",
                "proposals",
                "signatures",
                "audit",
                "cursors",
                "execution_txs",
                "applied_policies",
                "compose_files",
                "tx_service_outbox",
            }
            if connection.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_back(db_url: str) -> None:
    config = alembic_config()
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect_db(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert {"proposals", "audit"} <= set(inspect_db(engine).get_table_names())
    finally:
        engine.dispose()


def test_open_store_migrates_an_empty_database(db_url: str) -> None:
    with open_store(db_url) as store:
        assert store.list_proposals() == []
        with store.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == _head()
    with open_store(db_url) as again:
        assert again.audit() == []


def test_safe_tx_hash_is_unique_among_open_proposals(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        indexes = {ix["name"]: ix for ix in inspect_db(engine).get_indexes("proposals")}
        assert not indexes["ix_proposals_safe_tx_hash"]["unique"]
        assert indexes["uq_proposals_open_safe_tx_hash"]["unique"]
        assert indexes["ix_proposals_state_id"]["column_names"] == ["state", "id"]
        assert indexes["ix_proposals_safe_nonce"]["column_names"] == ["safe", "nonce"]
    finally:
        engine.dispose()


def test_revisions_form_one_line() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    assert [r.revision for r in script.walk_revisions()] == ["0007", "0006", "0005", "0004", "0003", "0002", "0001"]


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p%40ss@db:5432/gov", "postgresql+psycopg"),
        ("postgres://u@db/gov", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/gov", "postgresql+psycopg"),
        ("sqlite:///relative.db", "sqlite"),
    ],
)
def test_urls_are_normalised(given: str, driver: str) -> None:
    url = normalise_url(given)
    assert url.drivername == driver
    if "p%40ss" in given:
        assert url.password == "p@ss"


@pytest.mark.parametrize("bad", ["mysql://u@db/gov", "postgresql+psycopg2://u@db/gov", "not a url"])
def test_unsupported_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_url(bad)


def test_in_memory_sqlite_works() -> None:
    with open_store("sqlite://") as store:
        store.set_cursor("x", 1)
        assert store.get_cursor("x") == 1


def test_public_api() -> None:
    assert sorted(proposals.store.__all__) == ["SqlStore", "Store", "migrate", "open_store", "utc_now"]
    opening = inspect.signature(proposals.store.open_store).parameters
    assert [(p.name, p.kind.name) for p in opening.values()] == [
        ("url", "POSITIONAL_OR_KEYWORD"),
        ("clock", "KEYWORD_ONLY"),
    ]
    assert list(inspect.signature(proposals.store.migrate).parameters) == ["url"]
    protocol = {name for name in vars(proposals.store.Store) if not name.startswith("_")}
    assert protocol <= set(dir(proposals.store.SqlStore))
