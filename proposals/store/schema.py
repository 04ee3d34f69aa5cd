"""Bring a database to the newest schema with the Alembic revisions shipped in proposals/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine

from .engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """Return an Alembic config for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # ConfigParser treats % as interpolation; an escaped password must survive it.
        rendered = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Upgrade the database behind `engine` to the newest revision (a no-op when it is current)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def migrate(url: str | URL) -> None:
    """Upgrade the database at `url` to the newest revision (a no-op when it is current)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
