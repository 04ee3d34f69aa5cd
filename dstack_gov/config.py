"""The one configuration file (TOML) plus environment overrides; the only place that reads them."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from eth_typing import ChecksumAddress
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from web3 import Web3

DEFAULT_CONFIG_NAME = "dstack-gov.toml"
CONFIG_ENV = "DSTACK_GOV_CONFIG"


class ConfigError(Exception):
    """The configuration file or environment is missing or invalid (message is safe to show)."""


def _checksum(value: str) -> ChecksumAddress:
    if not Web3.is_address(value):
        raise ValueError(f"not an address: {value!r}")
    if value != value.lower() and value != value.upper() and not Web3.is_checksum_address(value):
        raise ValueError(f"bad address checksum: {value}")
    return Web3.to_checksum_address(value)


Address = Annotated[str, AfterValidator(_checksum)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainSection(_Section):
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int | None = None
    rpc_timeout: float = 10.0
    # The block the KMS was deployed in: policy events are read from here on, in chunks nodes accept.
    start_block: int = Field(default=0, ge=0)
    log_chunk_blocks: int = Field(default=5_000, ge=1, le=100_000)


class ContractsSection(_Section):
    kms: Address | None = None
    app_implementation: Address | None = None
    default_app: Address | None = None


class SafeInfraSection(_Section):
    multi_send_call_only: Address | None = None
    simulate_tx_accessor: Address | None = None


class SafeSection(_Section):
    address: Address
    name: str = ""
    telegram_chat_id: int | None = None


class KeySection(_Section):
    """Where a key comes from: an env var name, a raw-hex file, or an encrypted keystore."""

    env: str | None = None
    file: Path | None = None
    keystore: Path | None = None
    password_file: Path | None = None


class DatabaseSection(_Section):
    url: str = "sqlite:///dstack-gov.sqlite"


class TelegramSection(_Section):
    token: SecretStr | None = None
    token_env: str = "DSTACK_GOV_TELEGRAM_TOKEN"
    api_base_url: str = "https://api.telegram.org/bot"
    proposers: tuple[int, ...] = ()
    admins: tuple[int, ...] = ()
    webhook_url: str | None = None


class ScheduleSection(_Section):
    reminder_interval: float = Field(default=6 * 3600, gt=0)
    proposal_ttl: float = Field(default=7 * 86400, gt=0)
    poll_interval: float = Field(default=15, gt=0)


class ExplorerSection(_Section):
    tx_url: str | None = None
    address_url: str | None = None


class AuthApiSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    rpc_timeout: float = Field(default=2.0, gt=0)
    block_cache: bool = False
    body_timeout: float = Field(default=10.0, gt=0)


class ApiSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: SecretStr | None = None
    token_env: str = "DSTACK_GOV_API_TOKEN"
    public_url: str | None = None


class Config(_Section):
    """Everything dstack-gov reads from its config file."""

    chain: ChainSection = ChainSection()
    contracts: ContractsSection = ContractsSection()
    safe_infra: SafeInfraSection = SafeInfraSection()
    safes: tuple[SafeSection, ...] = ()
    signer: KeySection = KeySection()
    executor: KeySection = KeySection()
    database: DatabaseSection = DatabaseSection()
    telegram: TelegramSection = TelegramSection()
    schedule: ScheduleSection = ScheduleSection()
    explorer: ExplorerSection = ExplorerSection()
    authapi: AuthApiSection = AuthApiSection()
    api: ApiSection = ApiSection()
    path: Path | None = Field(default=None, exclude=True)


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


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"


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
        raise ConfigError(f"invalid configuration{origin}: {_first_error(exc)}") from None
    if path is not None:
        config = _relative_to(config, path.resolve().parent)
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
            "database": config.database.model_copy(update={"url": url}),
        }
    )
