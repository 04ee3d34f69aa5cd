"""Wire Safe Transaction Service sync from the config: the client, its secret, the delegate, Safe{Wallet} links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from eth_typing import ChecksumAddress
from web3 import Web3

from dstack_gov.config import Config, ConfigError
from dstack_gov.keys import KeySource, load_account
from foundation.redaction import protect_secret, protect_url
from proposals.safe_tx import read_safe_state
from proposals.safe_wallet import SafeWalletLinks
from proposals.tx_service import TxServiceClient
from proposals.tx_service_ops import TxServiceConfig
from proposals.tx_service_push import PushSettings


def tx_service_config(
    config: Config, w3: Web3, safes: Sequence[ChecksumAddress], environ: Mapping[str, str]
) -> TxServiceConfig | None:
    """Return sync's wiring, or None when `[safe_transaction_service] url` is not set (sync off)."""
    section = config.safe_transaction_service
    if not section.url:
        return None
    protect_url(section.url)
    api_key = section.api_key.get_secret_value() if section.api_key else environ.get(section.api_key_env) or None
    if api_key:
        protect_secret(api_key)  # requests and urllib3 log headers at DEBUG; the key is in one
    links = SafeWalletLinks(
        config.safe_wallet.url, config.safe_wallet.chain_short_name, config.safe_wallet.link_template
    )
    try:
        links.link(1, "0x" + "00" * 20, b"\x00" * 32)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            "[safe_wallet] link_template: use only {url}, {short_name}, {safe} and {safe_tx_hash}"
        ) from None
    key = section.delegate
    source = KeySource(env=key.env, file=key.file, keystore=key.keystore, password_file=key.password_file)
    delegate = load_account(source, environ=environ, required=False)
    if delegate is not None:
        for safe in safes:
            if read_safe_state(w3, safe).is_owner(delegate.address):
                raise ConfigError(
                    f"the delegate {delegate.address} is an owner of Safe {safe}; the bot holds no owner key"
                )
    chain_id = config.chain.chain_id or int(w3.eth.chain_id)
    client = TxServiceClient(section.url, chain_id=chain_id, api_key=api_key, timeout=section.timeout,
                             page_size=section.page_size)  # fmt: skip
    push = PushSettings(timedelta(seconds=section.retry_base), timedelta(seconds=section.retry_max), delegate)
    return TxServiceConfig(client, push, links)
