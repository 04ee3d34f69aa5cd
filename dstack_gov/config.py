"""The one configuration file (TOML) plus environment overrides; the only place that reads them.

The schema lives in the leaf `foundation.config_schema`, so the webhook can take a `Config` without
importing this package; it is re-exported here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dstack_gov.logs import follow_config
from foundation.config_schema import (
    Address,
    ApiSection,
    AuthApiSection,
    ChainSection,
    Config,
    ConfigError,
    ContractsSection,
    DatabaseSection,
    ExecutorSection,
    ExplorerSection,
    KeySection,
    LoggingSection,
    ProposalsSection,
    SafeInfraSection,
    SafeSection,
    SafeTransactionServiceSection,
    SafeWalletSection,
    ScheduleSection,
    TelegramSection,
)
from foundation.validation import first_problem

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "ENV_OVERRIDES",
    "Address",
    "ApiSection",
    "AuthApiSection",
    "ChainSection",
    "Config",
    "ConfigError",
    "ContractsSection",
    "DatabaseSection",
    "ExecutorSection",
    "ExplorerSection",
    "KeySection",
    "LoggingSection",
    "ProposalsSection",
    "SafeInfraSection",
    "SafeSection",
    "SafeTransactionServiceSection",
    "SafeWalletSection",
    "ScheduleSection",
    "TelegramSection",
    "load_config",
    "resolve_config_path",
]

DEFAULT_CONFIG_NAME = "dstack-gov.toml"
CONFIG_ENV = "DSTACK_GOV_CONFIG"


# Environment variables that override file values: (env name, section, key).
ENV_OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("DSTACK_GOV_RPC_URL", "chain", "rpc_url"),
    ("ETH_RPC_URL", "chain", "rpc_url"),
    ("DSTACK_GOV_KMS", "contracts", "kms"),
    ("KMS_CONTRACT_ADDR", "contracts", "kms"),
    ("DSTACK_GOV_DATABASE_URL", "database", "url"),
    ("PORT", "authapi", "port"),
)


def resolve_config_path(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """Pick the config file: --config, then $DSTACK_GOV_CONFIG, then ./dstack-gov.toml if present."""
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.exists() else None


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the TOML file at `path` (None: defaults only) and apply environment overrides."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
    # Earlier entries in ENV_OVERRIDES win, so project-specific names beat the generic ones.
    for env_name, section, key in reversed(ENV_OVERRIDES):
        if environ.get(env_name):
            data.setdefault(section, {})[key] = environ[env_name]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        origin = f" in {path}" if path else ""
        raise ConfigError(f"invalid configuration{origin}: {first_problem(exc).describe()}") from None
    if path is not None:
        config = _relative_to(config, path.resolve().parent)
    follow_config(config.logging.format)  # the one place that reads the config: its log format applies here
    return config.model_copy(update={"path": path})


def _relative_to(config: Config, base: Path) -> Config:
    """Resolve relative key paths and SQLite files against the config file's directory."""

    def key(section: KeySection) -> KeySection:
        fields = {}
        for name in ("file", "keystore", "password_file"):
            value = getattr(section, name)
            if value is not None and not value.is_absolute():
                fields[name] = base / value
        return section.model_copy(update=fields)

    url = config.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith("/") and url != prefix:
        url = prefix + str(base / url[len(prefix) :])
    return config.model_copy(
        update={
            "signer": key(config.signer),
            "executor": key(config.executor),
            "safe_transaction_service": config.safe_transaction_service.model_copy(
                update={"delegate": key(config.safe_transaction_service.delegate)}
            ),
            "database": config.database.model_copy(update={"url": url}),
        }
    )
