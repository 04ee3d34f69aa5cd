"""The configuration file's schema: its sections as pydantic models, and the error a bad file raises.

The webhook and the composition root both build on it; `dstack_gov.config` alone reads the file and
the environment and validates them against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from foundation.addresses import checksum_address


class ConfigError(Exception):
    """The configuration file or environment is missing or invalid (message is safe to show)."""


Address = Annotated[str, AfterValidator(checksum_address)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainSection(_Section):
    rpc_url: str = "http://127.0.0.1:8545"
    # Several endpoints, healthiest first with failover (proposals/rpc_endpoints.py); when set, rpc_url is unused.
    rpc_urls: tuple[str, ...] = Field(default=(), max_length=16)
    chain_id: int | None = None
    rpc_timeout: float = 10.0
    # The block the KMS was deployed in: policy events are read from here on, in chunks nodes accept.
    start_block: int = Field(default=0, ge=0)
    log_chunk_blocks: int = Field(default=5_000, ge=1, le=100_000)
    # An execution is final once this many blocks hold it (1: the block it was mined in).
    confirmations: int = Field(default=1, ge=1, le=1_000)

    def endpoints(self) -> tuple[str, ...]:
        """Return the RPC endpoints in their configured order (rpc_urls, else rpc_url)."""
        return self.rpc_urls or (self.rpc_url,)


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


class ExecutorSection(KeySection):
    """The executor's key, plus what it may spend: a fee ceiling and the balance below which to warn."""

    # Above this maxFeePerGas (gwei) executions wait for fees to drop; None: pay the market.
    max_fee_gwei: float | None = Field(default=None, gt=0)
    # Warn the group (once per crossing) when the executor holds less than this (ether); 0: never.
    low_balance_eth: float = Field(default=0.05, ge=0)


class LoggingSection(_Section):
    # json: one JSON object per line (for log shippers), still redacted.
    format: Literal["text", "json"] = "text"


class DatabaseSection(_Section):
    url: str = "sqlite:///dstack-gov.sqlite"


class TelegramSection(_Section):
    token: SecretStr | None = None
    token_env: str = "DSTACK_GOV_TELEGRAM_TOKEN"
    api_base_url: str = "https://api.telegram.org/bot"
    proposers: tuple[int, ...] = ()
    admins: tuple[int, ...] = ()
    webhook_url: str | None = None
    # The Mini App's short name (BotFather /newapp); group announcements then open the page inside Telegram.
    mini_app: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{3,30}$")
    # How old a Mini App's initData may be before the page's requests are refused (seconds).
    init_data_max_age: float = Field(default=3600, gt=0)


class ScheduleSection(_Section):
    reminder_interval: float = Field(default=6 * 3600, gt=0)
    proposal_ttl: float = Field(default=7 * 86400, gt=0)
    poll_interval: float = Field(default=15, gt=0)


class ProposalsSection(_Section):
    # A proposer's chosen nonce may be at most this far ahead of the Safe's, unless forced.
    nonce_window: int = Field(default=100, ge=0, le=1_000_000)


class ExplorerSection(_Section):
    tx_url: str | None = None
    address_url: str | None = None


class AuthApiSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    rpc_timeout: float = Field(default=2.0, gt=0)
    block_cache: bool = False
    # With block_cache: how often to ask the node for its head (seconds); answers may be 2x this old.
    head_poll_interval: float = Field(default=0.5, gt=0)
    body_timeout: float = Field(default=10.0, gt=0)


class ApiSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: SecretStr | None = None
    token_env: str = "DSTACK_GOV_API_TOKEN"
    # Where people reach this server (https://gov.example.org): the signing page is <public_url>/sign/<id>.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


class SafeTransactionServiceSection(_Section):
    """The Safe Transaction Service to sync with (docs/safe-wallet.md); no url: sync is off."""

    url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    api_key: SecretStr | None = None
    api_key_env: str = "DSTACK_GOV_SAFE_API_KEY"
    # A delegate key of the Safes' owners: it posts each proposal to the service when it is filed.
    delegate: KeySection = KeySection()
    timeout: float = Field(default=10.0, gt=0, le=120)
    page_size: int = Field(default=100, ge=1, le=1000)
    # A failed post is retried after retry_base, 2x, 4x ... seconds, at most retry_max apart.
    retry_base: float = Field(default=10.0, gt=0)
    retry_max: float = Field(default=3600.0, gt=0)


class SafeWalletSection(_Section):
    """Deep links to Safe{Wallet} (shown while Transaction Service sync is on)."""

    url: str = Field(default="https://app.safe.global", pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # EIP-3770 short name of the chain (eth, sep, base, ...); default from a table of well-known chains.
    chain_short_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,32}$")
    # Placeholders: {url} {short_name} {safe} {safe_tx_hash}.
    link_template: str = "{url}/transactions/tx?safe={short_name}:{safe}&id=multisig_{safe}_{safe_tx_hash}"


class Config(_Section):
    """Everything dstack-gov reads from its config file."""

    chain: ChainSection = ChainSection()
    contracts: ContractsSection = ContractsSection()
    safe_infra: SafeInfraSection = SafeInfraSection()
    safes: tuple[SafeSection, ...] = ()
    signer: KeySection = KeySection()
    executor: ExecutorSection = ExecutorSection()
    logging: LoggingSection = LoggingSection()
    database: DatabaseSection = DatabaseSection()
    telegram: TelegramSection = TelegramSection()
    schedule: ScheduleSection = ScheduleSection()
    proposals: ProposalsSection = ProposalsSection()
    explorer: ExplorerSection = ExplorerSection()
    authapi: AuthApiSection = AuthApiSection()
    api: ApiSection = ApiSection()
    safe_transaction_service: SafeTransactionServiceSection = SafeTransactionServiceSection()
    safe_wallet: SafeWalletSection = SafeWalletSection()
    path: Path | None = Field(default=None, exclude=True)
