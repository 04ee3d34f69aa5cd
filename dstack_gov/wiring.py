"""The composition root for the proposals core: config in, a ready GovernanceService out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from eth_typing import ChecksumAddress
from web3 import Web3

from contracts import TransactionSender
from dstack_gov.config import Config, ConfigError, KeySection
from dstack_gov.keys import KeySource, load_account
from dstack_gov.tx_service_wiring import tx_service_config
from proposals.chain import connect_client
from proposals.execution import Executor
from proposals.safe_tx import CANONICAL_MULTI_SEND_CALL_ONLY, CANONICAL_SIMULATE_TX_ACCESSOR, read_safe_state
from proposals.service import GovernanceService, ServiceSettings
from proposals.store import open_store

EXECUTOR_KEY_ENV = "DSTACK_GOV_EXECUTOR_KEY"
# Gas-price bumps for a stuck execution: wait this long per broadcast before replacing it.
EXECUTOR_STUCK_AFTER_SECONDS = 45.0


@dataclass(frozen=True)
class Overrides:
    """Command-line values that win over the config file."""

    rpc_url: str | None = None
    kms: ChecksumAddress | None = None
    # Endpoints chosen for this run (e.g. the CLI's); rpc_url, when given, wins over them and the config.
    rpc_urls: tuple[str, ...] = ()

    def endpoints(self, config: Config) -> tuple[str, ...]:
        """Return the RPC endpoints to use: --rpc-url, else these, else the config's."""
        return (self.rpc_url,) if self.rpc_url else self.rpc_urls or config.chain.endpoints()


def service_settings(config: Config) -> ServiceSettings:
    """Return the service tunables the config asks for."""
    return ServiceSettings(
        multi_send=config.safe_infra.multi_send_call_only or CANONICAL_MULTI_SEND_CALL_ONLY,  # type: ignore[arg-type]
        simulate_accessor=config.safe_infra.simulate_tx_accessor or CANONICAL_SIMULATE_TX_ACCESSOR,  # type: ignore[arg-type]
        proposal_ttl=timedelta(seconds=config.schedule.proposal_ttl),
        start_block=config.chain.start_block,
        log_chunk_blocks=config.chain.log_chunk_blocks,
        nonce_window=config.proposals.nonce_window,
        confirmations=config.chain.confirmations,
        low_balance_wei=int(Web3.to_wei(Decimal(str(config.executor.low_balance_eth)), "ether")),
    )


def max_fee_per_gas(config: Config) -> int | None:
    """Return the executor's fee ceiling in wei ([executor] max_fee_gwei), if any."""
    ceiling = config.executor.max_fee_gwei
    return None if ceiling is None else int(Web3.to_wei(Decimal(str(ceiling)), "gwei"))


def executor_source(section: KeySection) -> KeySource:
    """Return where the executor key comes from (the config, else $DSTACK_GOV_EXECUTOR_KEY)."""
    return KeySource(env=section.env or EXECUTOR_KEY_ENV, file=section.file, keystore=section.keystore,
                     password_file=section.password_file)  # fmt: skip


def build_service(
    config: Config,
    overrides: Overrides = Overrides(),
    *,
    with_executor: bool = True,
    environ: Mapping[str, str] | None = None,
    offline: bool = False,
) -> GovernanceService:
    """Connect to the chain and the database, and load the executor key (never an owner).

    `offline` skips the chain check and the executor: for what reads only the database (the audit log),
    which must work while the RPC is down; anything else asks the node on first use and may fail then.
    """
    environ = os.environ if environ is None else environ
    if not config.safes:
        raise ConfigError("no Safes configured: add a [[safes]] entry (address = ...) to the config")
    client = connect_client(
        overrides.endpoints(config),
        expected_chain_id=config.chain.chain_id,
        timeout=config.chain.rpc_timeout,
        verify=not offline,
    )
    safes = tuple(s.address for s in config.safes)
    executor = None
    if with_executor and not offline:
        account = load_account(executor_source(config.executor), environ=environ, required=False)
        if account is not None:
            for safe in safes:
                if read_safe_state(client.w3, safe).is_owner(account.address):  # type: ignore[arg-type]
                    raise ConfigError(
                        f"the executor {account.address} is an owner of Safe {safe}; use a separate gas-only key"
                    )
            sender = TransactionSender(client.w3, account, stuck_after=EXECUTOR_STUCK_AFTER_SECONDS,
                                       max_fee_per_gas=max_fee_per_gas(config))  # fmt: skip
            executor = Executor(sender, client)
    store = open_store(config.database.url)
    return GovernanceService(
        client=client,
        store=store,
        safes=safes,  # type: ignore[arg-type]
        kms=overrides.kms or config.contracts.kms,  # type: ignore[arg-type]
        settings=service_settings(config),
        executor=executor,
        tx_service=None if offline else tx_service_config(config, client.w3, safes, environ),  # type: ignore[arg-type]
    )
