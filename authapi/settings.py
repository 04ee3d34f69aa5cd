"""The webhook's settings, taken from the project config (read by dstack_gov.config) and explicit overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, TypeVar, Unpack, cast
from urllib.parse import urlsplit

from eth_typing import ChecksumAddress
from pydantic import TypeAdapter, ValidationError

from foundation.config_schema import Address, Config, ConfigError

T = TypeVar("T")
_ADDRESS: TypeAdapter[str] = TypeAdapter(Address)


@dataclass(frozen=True)
class Settings:
    """Where the chain is, which KMS contract to ask, and how to serve."""

    rpc_url: str
    kms_address: ChecksumAddress
    rpc_timeout: float = 2.0
    block_cache: bool = False
    # With the block cache: seconds between two eth_blockNumber polls; a cached answer is at most
    # twice this old (see authapi/head.py).
    head_poll_interval: float = 0.5
    host: str = "127.0.0.1"
    port: int = 8000
    # A client that has not sent its whole body by then gets 408 and a closed connection.
    body_timeout: float = 10.0
    # Nodes asked when rpc_url fails as a node (timeout, connection, HTTP 429/5xx): see failover.py.
    fallback_rpc_urls: tuple[str, ...] = ()
    # The chain every node must serve ([chain] chain_id); without it, the first node's (failover.py).
    chain_id: int | None = None

    def __post_init__(self) -> None:
        try:
            checksummed = _ADDRESS.validate_python(self.kms_address)
        except ValidationError:
            raise ConfigError(f"not a KMS contract address: {self.kms_address!r}") from None
        object.__setattr__(self, "kms_address", cast(ChecksumAddress, checksummed))
        for rpc_url in (self.rpc_url, *self.fallback_rpc_urls):
            url = urlsplit(rpc_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError("the RPC URL must be an http:// or https:// URL")
        if not self.rpc_timeout > 0:
            raise ConfigError("the RPC timeout must be a positive number of seconds")
        if not self.head_poll_interval > 0:
            raise ConfigError("the head poll interval must be a positive number of seconds")
        if not self.body_timeout > 0:
            raise ConfigError("the body timeout must be a positive number of seconds")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port out of range: {self.port}")


def _kms_address(value: str | None) -> ChecksumAddress:
    if not value:
        raise ConfigError("no KMS contract address: set [contracts] kms, KMS_CONTRACT_ADDR or --kms")
    return cast(ChecksumAddress, value)  # Settings checks and checksums it


class Overrides(TypedDict, total=False):
    """Values given on the command line; None means "not given"."""

    rpc_url: str | None
    kms: str | None
    host: str | None
    port: int | None
    rpc_timeout: float | None
    block_cache: bool | None


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value


def settings_from_config(config: Config, **overrides: Unpack[Overrides]) -> Settings:
    """Combine `config` ([chain], [contracts], [authapi]) with the overrides that are not None."""
    section = config.authapi
    # [chain] rpc_urls in order, failing over as the core does; --rpc-url names the one node to ask.
    given = overrides.get("rpc_url")
    endpoints = (given,) if given is not None else config.chain.endpoints()
    return Settings(
        rpc_url=endpoints[0],
        fallback_rpc_urls=endpoints[1:],
        chain_id=config.chain.chain_id,
        kms_address=_kms_address(_pick(overrides.get("kms"), config.contracts.kms)),
        rpc_timeout=_pick(overrides.get("rpc_timeout"), section.rpc_timeout),
        block_cache=_pick(overrides.get("block_cache"), section.block_cache),
        head_poll_interval=section.head_poll_interval,
        host=_pick(overrides.get("host"), section.host),
        port=_pick(overrides.get("port"), section.port),
        body_timeout=section.body_timeout,
    )
