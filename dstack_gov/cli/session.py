"""Per-invocation wiring: options common to every command, turned into config, chain and key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import TransactionSender
from dstack_gov.config import Config, load_config, resolve_config_path
from dstack_gov.keys import KeySource, load_account
from proposals.catalogue import parse_address
from proposals.chain import ChainReader, connect
from proposals.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])

CHAIN_OPTION_NAMES = ("config_path", "rpc_url", "kms", "json_output")
KEY_OPTION_NAMES = ("private_key", "keystore", "password_file")


def _apply(func: F, decorators: list[Callable[[F], F]]) -> F:
    # On a function click collects options and reverses them; on a built Command it appends.
    ordered = decorators if isinstance(func, click.Command) else list(reversed(decorators))
    for decorator in ordered:
        func = decorator(func)
    return func


def chain_options(func: F) -> F:
    """Add --config, --rpc-url, --kms and --json."""
    return _apply(
        func,
        [
            click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                         help="Config file (default: $DSTACK_GOV_CONFIG or ./dstack-gov.toml)."),
            click.option("--rpc-url", help="JSON-RPC URL (default: from the config, or $ETH_RPC_URL)."),
            click.option("--kms", help="DstackKms proxy address (default: from the config)."),
            click.option("--json", "json_output", is_flag=True, help="Print one JSON object."),
        ],
    )  # fmt: skip


def api_options(func: F) -> F:
    """Add --host, --port and --token-env: where the HTTP API listens, and its bearer token for writes."""
    return _apply(
        func,
        [
            click.option("--host", help="Address the HTTP server listens on (default: [api] host, 127.0.0.1)."),
            click.option("--port", type=click.IntRange(0, 65535),
                         help="Port of the HTTP server (default: [api] port, 8080)."),
            click.option("--token-env", help="Env var holding the API bearer token (default: [api] token_env)."),
        ],
    )  # fmt: skip


def key_options(func: F) -> F:
    """Add --private-key, --keystore and --password-file."""
    return _apply(
        func,
        [
            click.option("--private-key", help="Hex private key (prefer $DSTACK_GOV_PRIVATE_KEY or a keystore)."),
            click.option("--keystore", type=click.Path(path_type=Path, dir_okay=False),
                         help="Encrypted JSON keystore."),
            click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False),
                         help="File holding the keystore password (else prompted)."),
        ],
    )  # fmt: skip


def _prompt(text: str) -> str:
    return str(click.prompt(text, hide_input=True))


@dataclass
class Session:
    """Everything one command needs, built lazily from its options and the config file."""

    config: Config
    rpc_url: str
    json_output: bool = False
    # Every endpoint, failover order (--rpc-url: that one only); rpc_url is the first, for messages.
    rpc_urls: tuple[str, ...] = ()
    kms_option: str | None = None
    key_source: KeySource = field(default_factory=KeySource)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Session:
        """Pop the common options out of a command's kwargs and build the session."""
        config_path = options.pop("config_path", None)
        config = load_config(resolve_config_path(config_path))
        flag = options.pop("rpc_url", None)
        rpc_urls = (flag,) if flag else config.chain.endpoints()
        signer = config.signer
        source = KeySource(
            private_key=options.pop("private_key", None),
            env=signer.env or KeySource.env,
            file=signer.file,
            keystore=options.pop("keystore", None) or signer.keystore,
            password_file=options.pop("password_file", None) or signer.password_file,
        )
        return cls(
            config=config,
            rpc_url=rpc_urls[0],
            rpc_urls=rpc_urls,
            json_output=bool(options.pop("json_output", False)),
            kms_option=options.pop("kms", None),
            key_source=source,
        )

    @cached_property
    def w3(self) -> Web3:
        """Return a connected client (checks reachability and the configured chain id)."""
        chain = self.config.chain
        return connect(self.rpc_urls or self.rpc_url, expected_chain_id=chain.chain_id, timeout=chain.rpc_timeout)

    @cached_property
    def kms(self) -> ChecksumAddress | None:
        """Return the KMS address from --kms or the config, if any."""
        if self.kms_option:
            return parse_address(self.kms_option, "--kms")
        return self.config.contracts.kms  # type: ignore[return-value]

    def require_kms(self) -> ChecksumAddress:
        """Return the KMS address or explain how to give one."""
        if self.kms is None:
            raise InvalidInput("no KMS address: pass --kms or set contracts.kms in the config")
        return self.kms

    @cached_property
    def reader(self) -> ChainReader:
        """Return a chain reader bound to our KMS."""
        chain = self.config.chain
        return ChainReader(self.w3, self.kms, start_block=chain.start_block, chunk_blocks=chain.log_chunk_blocks)

    @cached_property
    def account(self) -> LocalAccount:
        """Return the signing account (prompting for a keystore password if needed)."""
        account = load_account(self.key_source, prompt_password=_prompt)
        assert account is not None
        return account

    def sender(self) -> TransactionSender:
        """Return a transaction sender for the signing account."""
        account = self.account  # load (and validate) the key before touching the network
        return TransactionSender(self.w3, account)
